"""A wiped kiosk journal draws a new epoch; (kiosk, epoch, seq) is a punch's
identity, so the punches a wiped kiosk takes offline land as punches, not as
`seq reused` dead letters."""

import json
from datetime import UTC, date, datetime

from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk as KioskRow
from noxus.hr import timesheets
from noxus.hr.models import Employee
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session, func, select

from firmware.core import protocol
from tests.ingest.rig import Backend, Kiosk
from tests.support.records import add_customer, add_employee

T0 = int(datetime(2026, 3, 2, 6, 0, tzinfo=UTC).timestamp() * 1000)  # Mon 2 March 2026, 07:00 Zurich


def count(engine, q):
    with Session(engine) as s:
        return s.exec(q).one()


def drain(kiosk, backend, rounds=50):
    """Publish, deliver, ack until the journal is empty (the broker loses nothing)."""
    for _ in range(rounds):
        kiosk.poll(10_000)
        batch = kiosk.take()
        if not batch:
            return
        for ack in backend.commit(batch):
            kiosk.on_ack(ack)
    raise AssertionError("journal did not drain")


def test_wiped_kiosk_20_offline_taps_land_in_the_timesheet_without_dead_letters_or_duplicates(
    engine, tmp_path
):
    with Session(engine) as s:
        s.add(KioskRow(id="K1"))
        customer = add_customer(s)
        anne = add_employee(s, customer.id, badge="04000001")
        s.commit()
        customer_id, anne_id = customer.id, anne.id
    backend = Backend(engine)
    kiosk = Kiosk("K1", tmp_path / "flash")
    old_epoch = kiosk.journal.epoch
    for i in range(30):  # a month of history under the first journal
        kiosk.tap(1, T0 - 86_400_000 * 7 + i * 60_000)
    drain(kiosk, backend)
    assert kiosk.journal.acked == 30

    # The board is replaced: a new journal, seq 1 again, 20 taps before any network.
    kiosk.wipe()
    assert kiosk.journal.epoch != old_epoch and kiosk.journal.last_seq == 0
    taps = [kiosk.tap(1, T0 + i * 30 * 60_000) for i in range(20)]
    assert [p.seq for p in taps] == list(range(1, 21))
    # An ack of the old journal the broker still queued for the kiosk is not for this one.
    kiosk.on_ack(Incoming("noxus/v1/K1/ack", protocol.encode_ack("K1", 30, old_epoch)))
    assert kiosk.journal.acked == 0 and kiosk.journal.last_seq == 20
    kiosk.poll(10_000)
    first = kiosk.take()
    for ack in backend.commit(first + first):  # delivered twice (QoS 1)
        kiosk.on_ack(ack)
    drain(kiosk, backend)
    backend.commit(first)  # and a resend long after
    assert kiosk.journal.acked == 20

    assert count(engine, select(func.count()).select_from(Punch)) == 50
    assert count(engine, select(func.count()).select_from(DeadLetter)) == 0
    with Session(engine) as s:
        cursors = {(c.epoch, c.acked_seq, c.lost) for c in s.exec(select(IngestCursor))}
        assert cursors == {(old_epoch, 30, 0), (kiosk.journal.epoch, 20, 0)}
        emp = s.get(Employee, anne_id)
        [sheet] = timesheets.compute(
            s,
            customer_id,
            [emp],
            date(2026, 3, 2),
            date(2026, 3, 2),
            Settings(),
            now=datetime(2030, 1, 1, tzinfo=UTC),
        )
    assert len(sheet.punches) == 20


def test_a_batch_without_epoch_is_epoch_0_and_gets_an_ack_without_epoch(engine):
    with Session(engine) as s:
        s.add(KioskRow(id="K1"))
        s.commit()
        body = {
            "v": 1,
            "kiosk": "K1",
            "from": 1,
            "punches": [{"seq": 1, "uid": "04A1B2C3", "kind": "punch", "ts": T0}],
        }
        out = ingest(s, [Incoming("noxus/v1/K1/punch", json.dumps(body).encode())])
        s.commit()
        assert out.acks == {("K1", 0): 1}
        assert s.exec(select(Punch.epoch)).one() == 0
    assert json.loads(protocol.encode_ack("K1", 1, 0)) == {"v": 1, "kiosk": "K1", "upto": 1}


def test_an_ack_of_another_epoch_is_refused_by_the_kiosk_decoder():
    wire = protocol.encode_ack("K1", 9, 77)
    assert protocol.decode_ack(wire, "K1", 77) == (9, None)
    assert protocol.decode_ack(wire, "K1", 78)[0] is None
    assert protocol.decode_ack(protocol.encode_ack("K1", 9), "K1", 0) == (9, None)
