"""Fault-test harness for the NATS cluster: ingest worker processes on
JetStream (`NOXUS_INGEST_BROKER=nats`), load kiosks that fail over between
the nodes' MQTT gateways with the firmware's own broker list and backoff
(firmware/core/reconnect.py), and the exactly-once checks."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from noxus.fleet.models import KioskAlert
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from sqlmodel import Session, func, select

from devstack.broker import free_port
from firmware.core import protocol
from firmware.core.reconnect import Reconnect
from tests.fleet.loadkiosk import LoadKiosk
from tests.support.workers import WorkerMetrics


class ClusterKiosk(LoadKiosk):
    """A load kiosk (real Sender, in-memory journal) whose connection moves to
    the next node of the cluster whenever it is lost or refused, in the order
    and with the backoff of firmware/core/reconnect.py (seeded jitter)."""

    def __init__(self, kiosk_id, ports, acks, seed=0, **kw):
        self.reconnect = Reconnect(
            [("127.0.0.1", p) for p in ports], kiosk_id, rand=_seeded(seed), base_ms=200, max_ms=1000
        )
        super().__init__(kiosk_id, self.reconnect.current()[1], acks, **kw)
        self.connects = 0
        self.nodes_used: set[int] = set()
        self.client.reconnect_delay_set(1, 1)
        self.client.on_disconnect = self._lost
        self.client.on_connect_fail = self._lost
        self.client.connect_timeout = 2
        self.client.on_subscribe = self._subscribed
        self.refused_subscriptions = 0

    def _subscribed(self, client, _u, _mid, reasons, _p):
        # A NATS node whose JetStream is electing leaders (a peer just died)
        # may refuse a QoS 1 subscription (SUBACK 0x80): without it the kiosk
        # would never hear its acks. The firmware reconnects (mqtt_link.py);
        # here, subscribe again.
        if any(r.is_failure for r in reasons):
            self.refused_subscriptions += 1
            threading.Timer(
                0.5, lambda: client.subscribe(protocol.topic(self.id, protocol.ACK), qos=1)
            ).start()

    def _on_connect(self, client, u, f, reason, p):
        if not reason.is_failure:
            self.connects += 1
            self.nodes_used.add(self.reconnect.current()[1])
            self.reconnect.connected()
        super()._on_connect(client, u, f, reason, p)

    def _lost(self, client, *_):
        self.up.clear()
        # paho waits its own reconnect delay (1 s) before dialling what we set here.
        self.reconnect.failed()
        host, port = self.reconnect.current()
        client.connect_async(host, port, keepalive=30)

    def start(self):
        host, port = self.reconnect.current()
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()
        return self


def _seeded(seed):
    import random

    r = random.Random(seed)
    return r.random


class Driver(threading.Thread):
    """Runs the kiosks' senders every 10 ms (taps are made by the test)."""

    def __init__(self, kiosks):
        super().__init__(daemon=True)
        self.kiosks, self.stop_flag = kiosks, threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            for k in self.kiosks:
                k.poll()
            time.sleep(0.01)

    def stop(self):
        self.stop_flag.set()
        self.join(5)


class NatsWorkers(WorkerMetrics):
    """`n` ingest worker processes on the cluster, each with its metrics port."""

    def __init__(self, tmp, db_url, nats_urls, n, ack_wait_s=3.0, extra_env=None):
        self.tmp, self.db_url, self.urls, self.ack_wait_s = tmp, db_url, nats_urls, ack_wait_s
        self.extra_env = extra_env or {}
        self.procs: list[subprocess.Popen | None] = []
        self.ports: list[int] = []
        self.logs = []
        for i in range(n):
            self.procs.append(None)
            self.ports.append(free_port())
            self.logs.append(tmp / f"worker-{i + 1}.log")
            self.start(i)

    def start(self, i):
        env = {
            **os.environ,
            "NOXUS_DATABASE_URL": self.db_url,
            "NOXUS_INGEST_BROKER": "nats",
            "NOXUS_NATS_SERVERS": json.dumps(self.urls),
            "NOXUS_INGEST_CLIENT_ID": f"noxus-ingest-{i + 1}",
            "NOXUS_INGEST_METRICS_PORT": str(self.ports[i]),
            "NOXUS_INGEST_MAX_MESSAGES": "200",
            "NOXUS_NATS_ACK_WAIT_S": str(self.ack_wait_s),
            **self.extra_env,
        }
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "noxus.cli", "ingest"],
            env=env,
            stdout=self.logs[i].open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def log_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in self.logs if log.exists())

    def stop(self):
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in self.procs:
            if p is None:
                continue
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(cond, timeout, what, detail=lambda: ""):
    """Wait on a condition (the timeout is only a safety net)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true after {timeout}s\n{detail()}")
        time.sleep(0.05)


def tap_round(kiosks, per_kiosk):
    for n, k in enumerate(kiosks):
        for _ in range(per_kiosk):
            k.tap(f"04{n % 256:02X}{k.journal.last_seq % 256:02X}C1")


def all_acked(kiosks, acks) -> bool:
    best: dict[str, int] = {}
    for _, kiosk, upto in list(acks):
        best[kiosk] = max(best.get(kiosk, 0), upto)
    return all(k.drained() and best.get(k.id, 0) == k.journal.last_seq for k in kiosks)


def behind(kiosks) -> str:
    return str(
        [(k.id, k.up.is_set(), k.journal.acked, k.journal.last_seq) for k in kiosks if not k.drained()][:10]
    )


def assert_exactly_once(engine, kiosks):
    """Every punch every kiosk journaled is stored once, every cursor is at the
    kiosk's last seq, nothing lost, no dead letter, no seq alert. -> punches."""
    expected = {(k.id, seq) for k in kiosks for seq in range(1, k.journal.last_seq + 1)}
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Punch)).one() == len(expected)
        assert set(s.exec(select(Punch.kiosk_id, Punch.seq)).all()) == expected
        cursors = {c.kiosk_id: (c.acked_seq, c.lost) for c in s.exec(select(IngestCursor))}
        assert cursors == {k.id: (k.journal.last_seq, 0) for k in kiosks}
        assert [(d.topic, d.reason) for d in s.exec(select(DeadLetter))] == []
        assert s.exec(select(KioskAlert).where(KioskAlert.kind.in_(["seq_gap", "seq_reused"]))).all() == []
    return len(expected)
