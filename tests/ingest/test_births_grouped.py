"""A group's births and deaths are recorded once per kiosk (fleet.record_states):
the fleet must then look exactly as if each message had been its own group —
online, boot, firmware, the reboot count, and every alert (offline resolved by
a birth, firmware_mismatch opened and resolved, repeated_reboots)."""

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from noxus.fleet import service as fleet
from noxus.fleet.models import Kiosk, KioskAlert, KioskCreate
from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session, col, select

from firmware.core import protocol

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
FW = st.sampled_from([None, "1.3.9", "1.4.0"])
HASH = st.sampled_from([None, "a" * 64, "b" * 64])
BOOT = st.sampled_from([None, 1, 2, 3])
_examples = itertools.count()


def _body(online, boot, fw, fw_hash) -> dict:
    extra = {"boot": boot, "fw": fw, "fw_hash": fw_hash}
    return {"online": online, **{k: v for k, v in extra.items() if v is not None}}


# (kiosk 0..2, what): a birth or death, a heartbeat, or a state message the codec refuses
MESSAGES = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.one_of(
            st.tuples(st.just("state"), st.builds(_body, st.booleans(), BOOT, FW, HASH)),
            st.tuples(st.just("telemetry"), st.builds(_body, st.just(True), BOOT, FW, st.none())),
            st.tuples(st.just("bad"), st.just({})),
        ),
    ),
    min_size=1,
    max_size=14,
)
KIOSKS = st.lists(
    st.fixed_dictionaries(
        {
            "target": FW,
            "target_hash": HASH,
            "boot": BOOT,
            "reboots": st.integers(0, 3),
            "open": st.sets(st.sampled_from(["offline", "firmware_mismatch", "repeated_reboots"])),
        }
    ),
    min_size=3,
    max_size=3,
)


def _incoming(kiosk_id: str, what: str, body: dict) -> Incoming:
    if what == "telemetry":
        payload = protocol.encode_message(kiosk_id, {k: v for k, v in body.items() if k != "online"})
        return Incoming(protocol.topic(kiosk_id, protocol.TELEMETRY), payload)
    if what == "bad":
        return Incoming(protocol.topic(kiosk_id, protocol.STATE), b'{"v":1,"online":"yes"}')
    return Incoming(protocol.topic(kiosk_id, protocol.STATE), protocol.encode_state(kiosk_id, **body))


def _setup(session: Session, kiosk_id: str, k: dict) -> None:
    fleet.register(
        session, KioskCreate(id=kiosk_id, firmware_target=k["target"], firmware_target_hash=k["target_hash"])
    )
    kiosk = session.get(Kiosk, kiosk_id)
    assert kiosk is not None
    kiosk.boot = k["boot"]
    if k["reboots"]:
        kiosk.reboot_count, kiosk.reboot_window_start = k["reboots"], NOW - timedelta(minutes=5)
    for kind in sorted(k["open"]):
        session.add(
            KioskAlert(kiosk_id=kiosk_id, kind=kind, detail="before", created_at=NOW - timedelta(hours=1))
        )


def _fleet(session: Session, kiosk_id: str) -> tuple:
    kiosk = session.get(Kiosk, kiosk_id)
    assert kiosk is not None
    session.refresh(kiosk)
    alerts = session.exec(
        select(KioskAlert).where(KioskAlert.kiosk_id == kiosk_id).order_by(col(KioskAlert.id))
    ).all()
    return (
        kiosk.online,
        kiosk.last_seen,
        kiosk.boot,
        kiosk.firmware,
        kiosk.firmware_hash,
        kiosk.reboot_count,
        kiosk.reboot_window_start,
        kiosk.telemetry,
        [(a.kind, a.detail, a.created_at, a.resolved_at) for a in alerts],
    )


def test_a_groups_births_leave_the_fleet_as_one_message_at_a_time(engine, monkeypatch):
    monkeypatch.setattr(fleet, "utcnow", lambda: NOW)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(kiosks=KIOSKS, messages=MESSAGES)
    def check(kiosks, messages):
        n = next(_examples)
        grouped, alone = [f"g{n}k{i}" for i in range(3)], [f"a{n}k{i}" for i in range(3)]
        with Session(engine) as s:
            for i, k in enumerate(kiosks):
                _setup(s, grouped[i], k)
                _setup(s, alone[i], k)
            s.commit()
        with Session(engine) as s:
            outcome = ingest(s, [_incoming(grouped[i], what, body) for i, (what, body) in messages])
            s.commit()
        dead = 0
        for i, (what, body) in messages:
            with Session(engine) as s:
                dead += ingest(s, [_incoming(alone[i], what, body)]).dead
                s.commit()
        assert outcome.dead == dead
        with Session(engine) as s:
            for g, a in zip(grouped, alone, strict=True):
                assert _fleet(s, g) == _fleet(s, a)

    check()


def test_a_storms_repeated_births_read_and_write_each_kiosk_once(engine, monkeypatch):
    """Birth, will, birth, birth (reconnects under load) in one group: the kiosk
    ends online with the last birth's firmware, its offline alert resolved once."""
    monkeypatch.setattr(fleet, "utcnow", lambda: NOW)
    with Session(engine) as s:
        _setup(
            s, "K1", {"target": "1.4.0", "target_hash": None, "boot": 1, "reboots": 0, "open": {"offline"}}
        )
        s.commit()
    births = [
        _body(True, 1, "1.3.9", None),
        _body(False, None, None, None),
        _body(True, 1, "1.3.9", None),
        _body(True, 1, "1.4.0", None),
    ]
    with Session(engine) as s:
        ingest(s, [_incoming("K1", "state", b) for b in births])
        s.commit()
    with Session(engine) as s:
        online, last_seen, boot, fw, _, reboots, _, _, alerts = _fleet(s, "K1")
    assert (online, last_seen, boot, fw, reboots) == (True, NOW, 1, "1.4.0", 0)
    assert [(kind, resolved) for kind, _, _, resolved in alerts] == [
        ("offline", NOW),
        ("firmware_mismatch", NOW),  # 1.3.9 was checked, then 1.4.0
    ]
