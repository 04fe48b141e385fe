"""Reconnect storm: 200 load kiosks hold a backlog journaled while the broker
was down; the broker comes back and they all reconnect and resend at once to
two ingest workers sharing `$share/ingest`. Every punch is stored exactly
once and every kiosk gets its final ack."""

import pytest
from noxus.core.db import make_engine
from noxus.fleet.models import KioskAlert
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from sqlmodel import Session, func, select

from bench.databases import register_kiosks
from tests.fleet.storm import Fleet
from tests.fleet.test_backpressure import Workers, count

pytestmark = pytest.mark.slow

KIOSKS = 200
WARMUP = 2  # punches per kiosk acked before the storm: cursors exist, sessions are set up
BACKLOG = 100  # punches per kiosk journaled while the broker is down (5 batches of 20)
WORKERS = 2


def test_reconnect_storm_of_200_kiosks_stores_every_punch_once_and_acks_every_kiosk(
    tmp_path, pg_url, private_broker
):
    engine = make_engine(pg_url)
    fleet = Fleet("RS", KIOSKS, private_broker.port)
    register_kiosks(engine, fleet.ids)
    workers = Workers(tmp_path, pg_url, private_broker.port, WORKERS)
    try:
        workers.wait_connected()
        fleet.start()
        fleet.tap_all(WARMUP)
        fleet.wait(fleet.all_acked, 60, "warm-up")

        times = fleet.storm(private_broker, BACKLOG, timeout=90)
        print(
            f"storm: all reconnected after {times.reconnect_s:.1f} s, all acked after {times.drain_s:.1f} s"
        )

        total = WARMUP + BACKLOG
        # Every kiosk got its final ack (fleet.storm waited for it; say it plainly).
        assert fleet.final_acks() == {k: total for k in fleet.ids}
        # Exactly once: every (kiosk, seq) stored once, nothing lost, no dead letters.
        assert count(engine, select(func.count()).select_from(Punch)) == KIOSKS * total
        with Session(engine) as s:
            pairs = set(s.exec(select(Punch.kiosk_id, Punch.seq)).all())
            assert pairs == {(k, seq) for k in fleet.ids for seq in range(1, total + 1)}
            cursors = {c.kiosk_id: (c.acked_seq, c.lost) for c in s.exec(select(IngestCursor))}
            assert cursors == {k: (total, 0) for k in fleet.ids}
            assert [(d.topic, d.reason) for d in s.exec(select(DeadLetter))] == []
            assert (
                s.exec(select(KioskAlert).where(KioskAlert.kind.in_(["seq_gap", "seq_reused"]))).all() == []
            )
        # Both workers took part after the storm.
        handled = [workers.metric(i, "noxus_ingest_messages_total") for i in range(WORKERS)]
        assert all(h > 0 for h in handled), handled
    finally:
        fleet.stop()
        workers.stop()
        engine.dispose()
