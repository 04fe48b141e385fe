"""Backpressure and scale-out: several ingest worker processes share
`$share/ingest/noxus/v1/+/punch`; the test's own PostgreSQL crashes mid-run
(pg_ctl stop -m immediate) and comes back. Nothing is acked while the database
is down, nothing is lost, every punch is stored exactly once."""

import os
import subprocess
import sys
import threading
import time

import pytest
from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.fleet import service
from noxus.fleet.models import KioskAlert, KioskCreate
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from sqlmodel import Session, func, select

from devstack.broker import free_port
from tests.fleet.loadkiosk import LoadKiosk
from tests.support.pg import PrivatePostgres, create_database
from tests.support.workers import WorkerMetrics

pytestmark = pytest.mark.slow

KIOSKS = 8
TAPS = 120  # per kiosk, spread over ~6 s
WORKERS = 3
OUTAGE_S = 4.0
ACK_GRACE_S = 2.0  # acks of commits made just before the crash may still be on their way


@pytest.fixture
def pg():
    server = PrivatePostgres().init()
    server.start()
    yield server
    server.destroy()


def profile(i: int) -> list[str]:
    """NOXUS_BENCH_PROFILE=/tmp/w.prof (bench.cluster_storm): worker i writes a
    cProfile of its database thread (the main one) to /tmp/w.prof.<i> when it stops."""
    path = os.environ.get("NOXUS_BENCH_PROFILE")
    return ["-m", "cProfile", "-o", f"{path}.{i}"] if path else []


class Workers(WorkerMetrics):
    metrics_timeout_s = 2.0
    connect_timeout_s = 30.0

    def __init__(self, tmp, db_url, broker_port, n, extra_env=None):
        self.procs, self.ports, self.logs = [], [], []
        for i in range(1, n + 1):
            port = free_port()
            log = tmp / f"worker-{i}.log"
            # Not `env`: that is the extra settings for every worker; reusing the
            # name gave worker 2 worker 1's client id and metrics port.
            worker_env = {
                **os.environ,
                "NOXUS_DATABASE_URL": db_url,
                "NOXUS_MQTT_PORT": str(broker_port),
                "NOXUS_INGEST_CLIENT_ID": f"noxus-ingest-{i}",
                "NOXUS_INGEST_METRICS_PORT": str(port),
                "NOXUS_INGEST_MAX_MESSAGES": "100",
                **(extra_env or {}),
            }
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, *profile(i), "-m", "noxus.cli", "ingest"],
                    env=worker_env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
            self.ports.append(port)
            self.logs.append(log)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


class Driver(threading.Thread):
    """Taps badges on every kiosk at a steady pace and runs their senders."""

    def __init__(self, kiosks):
        super().__init__(daemon=True)
        self.kiosks, self.stop_flag, self.taps = kiosks, threading.Event(), 0

    def run(self):
        start, last_beat = time.monotonic(), 0.0
        while not self.stop_flag.is_set():
            now = time.monotonic()
            due = min(TAPS, int((now - start) / 6.0 * TAPS) + 1)
            for n, k in enumerate(self.kiosks):
                while k.journal.last_seq < due:
                    k.tap(f"04{n:02X}{k.journal.last_seq % 256:02X}A1")
                k.poll()
            if now - last_beat > 1.0:
                for k in self.kiosks:
                    k.heartbeat()
                last_beat = now
            self.taps = sum(k.journal.last_seq for k in self.kiosks)
            time.sleep(0.01)


def count(engine, q):
    with Session(engine) as s:
        return s.exec(q).one()


def test_database_crash_stops_acks_and_loses_or_duplicates_nothing_across_three_workers(
    tmp_path, pg, private_broker
):
    broker = private_broker  # its own: nothing another test left running may publish into it
    db_url = create_database(pg.url, "noxus_")
    upgrade(db_url)
    engine = make_engine(db_url)
    ids = [f"BP{n:02d}" for n in range(KIOSKS)]
    with Session(engine) as s:
        for k in ids:
            service.register(s, KioskCreate(id=k))
        s.commit()

    workers = Workers(tmp_path, db_url, broker.port, WORKERS)
    acks: list[tuple[float, str, int]] = []
    kiosks = [LoadKiosk(k, broker.port, acks, ack_timeout_ms=2000, backoff_max_ms=4000).start() for k in ids]
    driver = Driver(kiosks)
    try:
        workers.wait_connected()
        for k in kiosks:
            assert k.up.wait(10), f"{k.id} did not connect"
        driver.start()

        # Crash the database once the flow is established.
        deadline = time.monotonic() + 30
        while len(acks) < 3 * KIOSKS:
            assert time.monotonic() < deadline, "no acks: are the workers consuming?"
            time.sleep(0.05)
        pg.stop("immediate")
        crashed = time.monotonic()
        time.sleep(OUTAGE_S)
        during = [a for a in acks if crashed + ACK_GRACE_S < a[0]]
        assert during == [], f"acked while the database was down: {during[:5]}"
        waiting = sum(k.journal.pending() for k in kiosks)
        assert waiting > 0  # the kiosks kept tapping and hold their punches
        pg.start()
        restarted = time.monotonic()

        deadline = time.monotonic() + 90
        while not (driver.taps == KIOSKS * TAPS and all(k.drained() for k in kiosks)):
            assert time.monotonic() < deadline, (
                f"not drained: {[(k.id, k.journal.acked, k.journal.last_seq) for k in kiosks]}\n"
                + workers.logs[0].read_text()[-3000:]
            )
            time.sleep(0.1)
        driver.stop_flag.set()
        driver.join(5)
        print(f"drained {time.monotonic() - restarted:.1f} s after the restart")

        # Exactly once, nothing lost, cursors at the end.
        assert count(engine, select(func.count()).select_from(Punch)) == KIOSKS * TAPS
        assert (
            count(
                engine,
                select(
                    func.count(
                        func.distinct(Punch.kiosk_id + ":" + func.cast(Punch.seq, type_=Punch.kiosk_id.type))
                    )
                ).select_from(Punch),
            )
            == KIOSKS * TAPS
        )
        with Session(engine) as s:
            cursors = s.exec(select(IngestCursor)).all()
            assert {c.kiosk_id: (c.acked_seq, c.lost) for c in cursors} == {k: (TAPS, 0) for k in ids}
            dead = [(d.topic, d.reason, d.payload[:300]) for d in s.exec(select(DeadLetter))]
            assert dead == []
            assert (
                s.exec(select(KioskAlert).where(KioskAlert.kind.in_(["seq_gap", "seq_reused"]))).all() == []
            )
        assert max(a[2] for a in acks if a[1] == ids[0]) == TAPS

        # The broker spread the batches over the workers; the outage showed as DB errors.
        handled = [workers.metric(i, "noxus_ingest_messages_total") for i in range(WORKERS)]
        assert sum(1 for h in handled if h > 0) >= 2, handled
        # A commit whose reply the crash cut off is retried and then counts as duplicates.
        stored = sum(workers.metric(i, "noxus_ingest_punches_stored_total") for i in range(WORKERS))
        assert KIOSKS * TAPS - 3 * TAPS <= stored <= KIOSKS * TAPS
        assert sum(workers.metric(i, "noxus_ingest_db_errors_total") for i in range(WORKERS)) > 0
        logs = "".join(log.read_text() for log in workers.logs)
        assert "deadlock detected" not in logs  # one lock order in ingest (test_lock_order.py)
        # A worker's last commit after the restart succeeded (an idle one keeps its last value).
        assert any(workers.metric(i, "noxus_ingest_database_up") == 1 for i in range(WORKERS))
    finally:
        driver.stop_flag.set()
        for k in kiosks:
            k.stop()
        workers.stop()
        engine.dispose()
