"""Faults on a 3-node NATS cluster (MQTT gateway + JetStream R3), kiosks
spread over the nodes, ingest workers competing on one durable consumer:
a broker node SIGKILLed mid-stream and restarted, a worker SIGKILLed, the
database restarted. Each time every punch is stored exactly once and every
kiosk's journal is acked to its end. Every wait is on a condition."""

import pytest
from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.ingest.models import IngestCursor, Punch
from sqlmodel import Session, func, select

from bench.databases import register_kiosks
from devstack.nats import NatsCluster
from tests.cluster.harness import (
    ClusterKiosk,
    Driver,
    NatsWorkers,
    all_acked,
    assert_exactly_once,
    tap_round,
    wait_for,
)
from tests.support.pg import PrivatePostgres, create_database

pytestmark = pytest.mark.slow

KIOSKS = 12  # four per node
ROUND = 15  # punches per kiosk per round (a batch of 20 holds a round)


@pytest.fixture
def cluster(tmp_path):
    c = NatsCluster(tmp_path / "nats", 3).start()
    yield c
    c.stop()


class Rig:
    def __init__(self, tmp_path, db_url, cluster, workers=2, prefix="CF"):
        self.engine = make_engine(db_url)
        self.acks: list[tuple[float, str, int]] = []
        self.kiosks = [
            ClusterKiosk(
                f"{prefix}{i:02d}",
                cluster.mqtt_ports,
                self.acks,
                seed=i,
                ack_timeout_ms=1500,
                backoff_max_ms=3000,
            )
            for i in range(KIOSKS)
        ]
        register_kiosks(self.engine, [k.id for k in self.kiosks])
        self.workers = NatsWorkers(tmp_path, db_url, cluster.urls, workers)
        self.driver = Driver(self.kiosks)

    def start(self):
        self.workers.wait_connected()
        for k in self.kiosks:
            k.start()
        wait_for(lambda: all(k.up.is_set() for k in self.kiosks), 60, "kiosks connected", self.detail)
        self.driver.start()
        return self

    def detail(self):
        with Session(self.engine) as s:
            stored = dict(s.exec(select(Punch.kiosk_id, func.count()).group_by(Punch.kiosk_id)).all())
            cursors = {c.kiosk_id: c.acked_seq for c in s.exec(select(IngestCursor))}
        late = [
            (
                k.id,
                k.up.is_set(),
                k.connects,
                k.journal.acked,
                k.journal.last_seq,
                stored.get(k.id, 0),
                cursors.get(k.id),
            )
            for k in self.kiosks
            if not k.drained()
        ]
        return f"behind (id, up, connects, acked, last, stored, cursor): {late}\n" + self.workers.log_tail()

    def acked_count(self) -> int:
        return sum(k.journal.acked for k in self.kiosks)

    def wait_all_acked(self, what, timeout=90):
        wait_for(lambda: all_acked(self.kiosks, self.acks), timeout, what, self.detail)

    def close(self):
        self.driver.stop_flag.set()
        for k in self.kiosks:
            k.stop()
        self.workers.stop()
        self.engine.dispose()


def test_broker_node_sigkilled_mid_stream_then_restarted_loses_and_doubles_nothing(tmp_path, pg_url, cluster):
    rig = Rig(tmp_path, pg_url, cluster).start()
    try:
        tap_round(rig.kiosks, ROUND)
        # Mid-stream: some of the round is acked, some is still on its way.
        wait_for(lambda: rig.acked_count() >= KIOSKS * ROUND // 3, 60, "first acks", rig.detail)
        # The victim is the node holding the most kiosks: where each kiosk sits depends on
        # which nodes answered its first dial (a node still starting sends it to the next),
        # so "node 0" could hold none and the failover below would prove nothing.
        ports = [k.reconnect.current()[1] for k in rig.kiosks]
        victim = max(range(len(cluster.mqtt_ports)), key=lambda i: ports.count(cluster.mqtt_ports[i]))
        on_victim = [
            k for k, port in zip(rig.kiosks, ports, strict=True) if port == cluster.mqtt_ports[victim]
        ]
        assert on_victim
        cluster.kill_node(victim)
        tap_round(rig.kiosks, ROUND)  # the kiosks keep journaling while they move
        rig.wait_all_acked("all acked on two nodes")
        assert all(k.connects >= 2 for k in on_victim)  # they failed over to another node
        assert all(len(k.nodes_used) >= 2 for k in on_victim)

        cluster.start_node(victim)
        cluster.wait_ready(caught_up=False)
        tap_round(rig.kiosks, ROUND)
        rig.wait_all_acked("all acked after the node is back")
        stored = assert_exactly_once(rig.engine, rig.kiosks)
        assert stored == KIOSKS * ROUND * 3
        print(f"node kill: {stored} punches stored once, {sum(k.sender.resent for k in rig.kiosks)} resends")
    finally:
        rig.close()


def test_worker_sigkilled_mid_stream_its_messages_go_to_the_other_worker(tmp_path, pg_url, cluster):
    rig = Rig(tmp_path, pg_url, cluster, workers=2, prefix="WK").start()
    try:
        tap_round(rig.kiosks, ROUND)

        # The two workers compete for one pull consumer: one fetch may take a whole round, so
        # nothing says the first round reaches worker 1. Another round goes out each time the
        # previous one is acked, until worker 1 has consumed (a condition, not a hope).
        def worker_1_consumed() -> bool:
            if rig.workers.metric(0, "noxus_ingest_messages_total") > 0:
                return True
            if all_acked(rig.kiosks, rig.acks):
                tap_round(rig.kiosks, ROUND)
            return False

        wait_for(worker_1_consumed, 120, "worker 1 consuming", rig.detail)
        tap_round(rig.kiosks, ROUND)
        rig.workers.kill(0)  # with whatever it had pulled and not acked
        tap_round(rig.kiosks, ROUND)
        rig.wait_all_acked("all acked by the surviving worker")
        stored = assert_exactly_once(rig.engine, rig.kiosks)  # against every kiosk's journal
        assert stored >= KIOSKS * ROUND * 3
        # only worker 2 was alive for the last round
        assert rig.workers.metric(1, "noxus_ingest_messages_total") > 0
    finally:
        rig.close()


def test_database_restarted_mid_stream_nothing_acked_lost_or_doubled(tmp_path, cluster):
    pg = PrivatePostgres().init()
    pg.start()
    rig = None
    try:
        db_url = create_database(pg.url, "noxus_")
        upgrade(db_url)
        rig = Rig(tmp_path, db_url, cluster, workers=2, prefix="PG").start()
        tap_round(rig.kiosks, ROUND)
        wait_for(lambda: rig.acked_count() > 0, 60, "first acks", rig.detail)
        rig.engine.dispose()
        pg.stop("immediate")  # a crash: WAL replay on start
        tap_round(rig.kiosks, ROUND)
        # Down: the workers fail their commits and ack nothing.
        wait_for(
            lambda: any(rig.workers.metric(i, "noxus_ingest_db_errors_total") > 0 for i in range(2)),
            60,
            "a failed commit",
            rig.detail,
        )
        held = rig.acked_count()
        assert held < KIOSKS * ROUND * 2
        pg.start()
        tap_round(rig.kiosks, ROUND)
        rig.wait_all_acked("all acked after the restart")
        stored = assert_exactly_once(rig.engine, rig.kiosks)
        assert stored == KIOSKS * ROUND * 3
    finally:
        if rig is not None:
            rig.close()
        pg.destroy()
