"""The three measurements. Each returns elapsed seconds for the whole
workload, timed with perf_counter from the first publish (or INSERT) to the
last confirmation."""

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

from noxus.core.types import BigIntPK, UTCDateTime
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    text,
)

from bench.common import Workload, client, publish_all, subscribe, wait
from firmware.core import protocol

INSERT_CHUNK = 1000  # rows per INSERT statement, as noxus.ingest.service does


def _spawn(module: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- (a) raw MQTT ------------------------------------------------------------


def raw_mqtt(port: int, work: Workload, timeout: float = 600) -> float:
    """The same payloads as (c), QoS 1, to a plain subscriber in another process."""
    run = uuid.uuid4().hex[:8]
    root, done_topic = f"bench/{run}/", f"bench/{run}-done"
    messages = [(root + topic, payload) for topic, payload in work.payloads("A")]
    sub = _spawn("bench.raw_subscriber", str(port), str(len(messages)), root + "#", done_topic)
    try:
        assert sub.stdout.readline().strip() == "ready", "raw subscriber did not start"
        finished = threading.Event()
        pub = client(port, on_message=lambda *_: finished.set())
        subscribe(pub, done_topic)
        start = time.perf_counter()
        publish_all(pub, messages)
        end = wait(finished, timeout, "raw publish -> subscribe")
        pub.disconnect()
        pub.loop_stop()
        return end - start
    finally:
        _stop(sub)


# -- (b) raw INSERT ----------------------------------------------------------


def _punch_shaped(meta: MetaData) -> Table:
    """Columns, types, unique key, indexes and kiosk foreign key of `punch`."""
    return Table(
        "bench_punch",
        meta,
        Column("id", BigIntPK, primary_key=True, autoincrement=True),
        Column("kiosk_id", String(32), ForeignKey("kiosk.id"), nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("badge_uid", String(20), nullable=False),
        Column("kind", String(8), nullable=False),
        Column("ts", UTCDateTime, index=True),
        Column("boot", BigInteger),
        Column("uptime_ms", BigInteger),
        Column("received_at", UTCDateTime, nullable=False),
        UniqueConstraint("kiosk_id", "seq", name="uq_bench_punch_kiosk_seq"),
        Index("ix_bench_punch_badge_ts", "badge_uid", "ts"),
    )


def raw_insert(engine, work: Workload, kiosk_prefix: str) -> float:
    """N pre-built rows, 1000 per Core `execute(insert(table), rows)` (the
    executemany form: sqlite3's executemany, psycopg's pipelined one), one
    transaction, one COMMIT: what the database itself can take.

    Not `insert(table).values(rows)`: that form builds and compiles a new
    1000-row statement every time, which costs more than the database."""
    meta = MetaData()
    meta.reflect(engine, only=["kiosk"])
    table = _punch_shaped(meta)
    table.create(engine, checkfirst=True)
    now = datetime.now(UTC)
    rows = [
        {
            "kiosk_id": kiosk,
            "seq": p.seq,
            "badge_uid": p.uid,
            "kind": p.kind,
            "ts": datetime.fromtimestamp(p.ts_ms / 1000, UTC),
            "boot": None,
            "uptime_ms": None,
            "received_at": now,
        }
        for kiosk, ps in work.batches(kiosk_prefix)
        for p in ps
    ]
    start = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), INSERT_CHUNK):
            conn.execute(insert(table), rows[i : i + INSERT_CHUNK])
    return time.perf_counter() - start


def raw_insert_split(engine, work: Workload, kiosk_prefix: str) -> float | None:
    """(b') PostgreSQL only: the same rows into the same table as (b), as one
    `INSERT ... SELECT FROM unnest(string_to_array(...))` per 1000 rows, each
    column one comma-separated string: the bind the ingest service uses, so
    (c) is also compared with the fastest raw INSERT we know on this server."""
    if engine.dialect.name != "postgresql":
        return None
    meta = MetaData()
    meta.reflect(engine, only=["kiosk"])
    _punch_shaped(meta).create(engine, checkfirst=True)
    rows = [(kiosk, p.seq, p.uid, p.kind, p.ts_ms) for kiosk, ps in work.batches(kiosk_prefix) for p in ps]
    sql = text(
        "INSERT INTO bench_punch (kiosk_id, seq, badge_uid, kind, ts, received_at) "
        "SELECT k, s, u, kd, timestamptz 'epoch' + t * interval '1 millisecond', :now "
        "FROM unnest(string_to_array(:k, ','), string_to_array(:s, ',')::bigint[], "
        "string_to_array(:u, ','), string_to_array(:kd, ','), string_to_array(:t, ',')::bigint[]) "
        "AS v(k, s, u, kd, t)"
    )
    now = datetime.now(UTC)
    start = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), INSERT_CHUNK):
            columns = (",".join(map(str, c)) for c in zip(*rows[i : i + INSERT_CHUNK], strict=True))
            conn.execute(sql, {**dict(zip(("k", "s", "u", "kd", "t"), columns, strict=True)), "now": now})
    return time.perf_counter() - start


# -- (c) NoxusTime durable ingest ---------------------------------------------


class IngestWorkerProcess:
    """The real IngestWorker (bench/worker_proc.py) on this broker and database."""

    def __init__(self, url: str, port: int):
        self.port = port
        self.client_id = "bench-" + uuid.uuid4().hex[:8]
        self.proc = _spawn("bench.worker_proc", url, str(port), self.client_id)

    def stop(self) -> None:
        _stop(self.proc)
        # The worker's session is persistent (clean_session=False) and its
        # shared subscription would make the broker queue every later punch
        # for it, slowing each following round: end the session.
        c = client(self.port, client_id=self.client_id)
        c.disconnect()
        c.loop_stop()


def durable_ingest(port: int, work: Workload, kiosk_prefix: str, timeout: float = 600) -> float:
    """Publish the kiosks' batches; done when every kiosk's app ack says its
    last seq is durably stored."""
    messages = work.payloads(kiosk_prefix)
    last = {}
    for kiosk, ps in work.batches(kiosk_prefix):
        last[kiosk] = max(last.get(kiosk, 0), ps[-1].seq)
    acked = dict.fromkeys(last, 0)
    finished = threading.Event()
    lock = threading.Lock()

    def on_ack(_c, _u, msg):
        parsed, err = protocol.parse_topic(msg.topic)
        upto, err2 = protocol.decode_ack(msg.payload)
        if err or err2 or parsed[0] not in acked:
            return
        with lock:
            acked[parsed[0]] = max(acked[parsed[0]], upto)
            if all(acked[k] >= last[k] for k in last):
                finished.set()

    pub = client(port, on_message=on_ack)
    subscribe(pub, protocol.TOPIC_ROOT + "+/" + protocol.ACK)
    start = time.perf_counter()
    publish_all(pub, messages)
    end = wait(finished, timeout, "durable ingest")
    pub.disconnect()
    pub.loop_stop()
    return end - start


def warm_up(port: int, prefix: str, timeout: float = 60) -> None:
    """One batch through the worker, resent until acked: the worker is then
    subscribed (a batch published before its SUBSCRIBE is simply not
    delivered to it) and its database pool connected."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            durable_ingest(port, Workload(punches=1, per_message=1, kiosks=1), prefix, timeout=2)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
