"""The ingest rule without MQTT: exactly once, cursor, gaps, dead letters."""

import json
from datetime import UTC, datetime

from noxus.fleet.models import Kiosk, KioskAlert
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session, func, select

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


def batch(kiosk, seqs, held_from=None, topic_kiosk=None, uid="04A1B2C3"):
    punches = [WirePunch(s, uid, T0 + s * 1000) for s in seqs]
    return Incoming(
        protocol.topic(topic_kiosk or kiosk, protocol.PUNCH),
        protocol.encode_punch_batch(kiosk, punches, held_from),
    )


def setup(engine, *kiosks):
    with Session(engine) as s:
        for k in kiosks:
            s.add(Kiosk(id=k))
        s.commit()


def run(engine, *msgs):
    with Session(engine) as s:
        out = ingest(s, list(msgs))
        s.commit()
    return out


def count(engine, model):
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_resent_batch_is_stored_once_and_acked_again(engine):
    setup(engine, "K1")
    first = run(engine, batch("K1", range(1, 51)))
    again = run(engine, batch("K1", range(1, 51)))
    assert (first.stored, first.duplicates, first.acks) == (50, 0, {("K1", 0): 50})
    assert (again.stored, again.duplicates, again.acks) == (0, 50, {("K1", 0): 50})
    assert count(engine, Punch) == 50


def test_ack_is_highest_contiguous_seq_across_groups(engine):
    setup(engine, "K1", "K2")
    out = run(engine, batch("K1", range(1, 11)), batch("K2", range(1, 4)), batch("K1", range(11, 21)))
    assert out.acks == {("K1", 0): 20, ("K2", 0): 3}
    with Session(engine) as s:
        assert s.get(IngestCursor, ("K1", 0)).acked_seq == 20


def test_seqs_the_kiosk_no_longer_holds_raise_a_gap_alert_and_do_not_block_the_ack(engine):
    setup(engine, "K1")
    run(engine, batch("K1", range(1, 6)))
    out = run(engine, batch("K1", [9, 10], held_from=9))
    assert out.acks == {("K1", 0): 10} and out.lost == 3
    with Session(engine) as s:
        alert = s.exec(select(KioskAlert)).one()
    assert alert.kind == "seq_gap" and "between seq 6 and 8" in alert.detail


def test_bad_messages_become_dead_letters_and_good_ones_still_land(engine):
    setup(engine, "K1", "K2")
    bad_version = json.dumps({"v": 2, "kiosk": "K1", "punches": []}).encode()
    out = run(
        engine,
        Incoming("noxus/v1/K1/punch", b"\xff\x00garbage"),
        Incoming("noxus/v1/K1/punch", bad_version),
        Incoming("noxus/v1/K9/punch", batch("K9", [1]).payload),  # unknown kiosk
        batch("K2", [1], topic_kiosk="K1"),  # K2's batch on K1's topic
        Incoming("elsewhere/K1/punch", b"{}"),
        batch("K1", [1, 2]),
    )
    assert out.stored == 2 and out.acks == {("K1", 0): 2}
    with Session(engine) as s:
        reasons = [d.reason for d in s.exec(select(DeadLetter).order_by(DeadLetter.id))]
        payloads = [d.payload for d in s.exec(select(DeadLetter).order_by(DeadLetter.id))]
    assert len(reasons) == 5
    assert any("not JSON" in r or "UTF-8" in r for r in reasons)
    assert any("version 2 not supported" in r for r in reasons)
    assert any("unknown kiosk 'K9'" in r for r in reasons)
    assert any("does not match topic kiosk 'K1'" in r for r in reasons)
    assert b"\xff\x00garbage" in payloads  # raw bytes kept


def test_a_different_punch_under_a_stored_seq_is_kept_as_dead_letter(engine):
    setup(engine, "K1")
    run(engine, batch("K1", [1, 2]))
    out = run(engine, batch("K1", [1, 2], uid="04000001"))
    assert out.dead == 2 and out.duplicates == 0
    assert count(engine, DeadLetter) == 2 and count(engine, Punch) == 2


def test_estimated_time_punch_is_stored_with_boot_and_uptime(engine):
    setup(engine, "K1")
    msg = Incoming(
        "noxus/v1/K1/punch",
        protocol.encode_punch_batch("K1", [WirePunch(1, "04A1B2C3", None, "punch", 7, 12345)]),
    )
    run(engine, msg)
    with Session(engine) as s:
        p = s.exec(select(Punch)).one()
    assert (p.ts, p.boot, p.uptime_ms) == (None, 7, 12345)


def test_a_group_mixing_clock_and_estimated_punches_stores_each_to_the_millisecond(engine):
    # One INSERT for the group: times go over as epoch ms, nulls where the clock was unset.
    setup(engine, "K1", "K-2_b")
    stamps = [T0 + 1, T0 + 999, 1_700_000_000_123, 4_102_444_799_999]  # up to 2099-12-31T23:59:59.999Z
    clocked = [WirePunch(i + 1, "04A1B2C3D4E5F6", ts, protocol.KIND_ENROLL) for i, ts in enumerate(stamps)]
    estimated = WirePunch(len(stamps) + 1, "04A1B2C3", None, "punch", 0, 0)
    run(
        engine,
        Incoming("noxus/v1/K1/punch", protocol.encode_punch_batch("K1", [*clocked, estimated])),
        Incoming("noxus/v1/K-2_b/punch", protocol.encode_punch_batch("K-2_b", [estimated], epoch=7)),
    )
    with Session(engine) as s:
        got = [
            (p.kiosk_id, p.epoch, p.seq, p.badge_uid, p.kind, p.ts, p.boot, p.uptime_ms)
            for p in s.exec(select(Punch))
        ]
    assert sorted(got, key=lambda r: (r[0] != "K1", r[2])) == [
        *[
            ("K1", 0, i + 1, "04A1B2C3D4E5F6", "enroll", datetime.fromtimestamp(ts / 1000, UTC), None, None)
            for i, ts in enumerate(stamps)
        ],
        ("K1", 0, 5, "04A1B2C3", "punch", None, 0, 0),
        ("K-2_b", 7, 5, "04A1B2C3", "punch", None, 0, 0),
    ]


def test_a_gap_the_kiosk_still_holds_stops_the_ack_below_it(engine):
    setup(engine, "K1")
    run(engine, batch("K1", [1, 2]))
    out = run(engine, batch("K1", [4], held_from=3))
    assert out.acks == {("K1", 0): 2} and out.lost == 0
    out = run(engine, batch("K1", [3, 4], held_from=3))
    assert out.acks == {("K1", 0): 4} and count(engine, Punch) == 4
    with Session(engine) as s:
        assert s.get(IngestCursor, ("K1", 0)).lost == 0
        assert s.exec(select(KioskAlert)).all() == []


def test_reordered_batches_are_acked_only_once_the_hole_is_filled(engine):
    setup(engine, "K1")
    assert run(engine, batch("K1", [6, 7, 8], held_from=1)).acks == {("K1", 0): 0}
    assert run(engine, batch("K1", [3, 4, 5], held_from=1)).acks == {("K1", 0): 0}
    assert run(engine, batch("K1", [1, 2], held_from=1)).acks == {("K1", 0): 8}


def test_late_arrival_of_a_written_off_seq_is_stored_and_resolves_counter_and_alert(engine):
    setup(engine, "K1")
    run(engine, batch("K1", [1, 2]))
    out = run(engine, batch("K1", [5], held_from=5))
    assert out.acks == {("K1", 0): 5} and out.lost == 2
    out = run(engine, batch("K1", [3], held_from=3))  # one of the two arrives late
    assert out.recovered == 1 and out.acks == {("K1", 0): 5}
    with Session(engine) as s:
        assert s.get(IngestCursor, ("K1", 0)).lost == 1
        assert s.exec(select(KioskAlert)).one().resolved_at is None
    out = run(engine, batch("K1", [4], held_from=4))
    assert out.recovered == 1 and count(engine, Punch) == 5
    with Session(engine) as s:
        assert s.get(IngestCursor, ("K1", 0)).lost == 0
        assert s.exec(select(KioskAlert)).one().resolved_at is not None


def test_pipelined_batches_carry_the_same_from_and_write_nothing_off(engine):
    setup(engine, "K1")
    b1, b2, b3 = (batch("K1", range(a, a + 5), held_from=1) for a in (1, 6, 11))
    assert run(engine, b3).acks == {("K1", 0): 0}
    assert run(engine, b1).acks == {("K1", 0): 5}
    assert run(engine, b2).acks == {("K1", 0): 15}
    with Session(engine) as s:
        assert s.get(IngestCursor, ("K1", 0)).lost == 0
