"""Reconnect storm at fleet scale (issues 5 and 21): K kiosks of the load
generator (bench/loadgen.py: several processes, the firmware's pipelined
Sender and reconnect code) are connected and acked; the broker stops, each
kiosk journals P punches, the broker comes back; measured: broker up ->
every kiosk holds its final ack, twice in the same run —

- with the spread: the kiosks come back as the firmware brings them back
  (firmware/core/reconnect.py: jittered exponential backoff), timed from the
  moment the broker's processes start (a cluster's start-up is part of it);
- without it ("ingest path"): the kiosks wait for the broker and dial all at
  once, as fast as the load generator can, like the raw baseline below.

Baselines, in the same run and on the same broker (docs/benchmarks.md says why):

- raw, K connections: the same K load-generator clients open a fresh
  connection each, all at once, and publish the same messages (the birth
  message a kiosk sends on connect, the punches in the same batches) at QoS 1
  to a plain subscriber; timed from the first dial to the
  subscriber's last message. The ratios are to this.
- raw, one connection: the same messages from one pipelined publisher
  (bench.scenarios.raw_mqtt), for comparison with earlier runs.

Brokers: `mosquitto` (one node, `$share` workers), `nats1` and `nats3` (one or
three NATS nodes: MQTT gateway, JetStream R1/R3 stream, a durable consumer;
the nodes' configuration is devstack/nats.py's, as deploy/nats/).

A cluster of several nodes then gets a rolling restart (docs/deployment.md's
way to restart it): each kiosk journals P more punches, the nodes are stopped
and started one at a time, each waited for (/healthz) before the next;
measured: first node stopped -> every kiosk acked, and last node back -> every
kiosk acked.

    python -m bench.cluster_storm [--kiosks 1000,10000] [--punches 10] [--workers 1]
                                  [--brokers mosquitto,nats3] [--window 4] [--procs N] [--timeout S]
                                  [--nats-mqtt 'consumer_replicas: 3'] [--no-doc]
"""

import argparse
import datetime as dt
import os
import pathlib
import platform
import statistics
import tempfile
import time
import uuid

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.ingest.models import Punch
from sqlmodel import Session, func, select

from bench.common import Workload
from bench.databases import pg_available, postgres_db, register_kiosks
from bench.loadgen import Pool, raise_nofile
from bench.report import write_block
from bench.scenarios import _spawn, _stop, raw_mqtt
from devstack.broker import Mosquitto
from devstack.nats import NatsCluster
from firmware.core.pipeline import WINDOW
from firmware.core.sender import BATCH_MAX
from tests.cluster.harness import NatsWorkers
from tests.fleet.test_backpressure import Workers

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BLOCK = "cluster_storm"
HEADING = "Reconnect storm at fleet scale, cluster vs single broker (issue 21)"
TIMEOUT_S = 900  # one phase of a storm; past it the row says so (--timeout)
HEALTHY_S = 120  # a restarted node's /healthz in a rolling restart; past it the row says so


class Broker:
    """Mosquitto or a NATS cluster behind one interface: ports, stop, start."""

    def __init__(self, kind: str, root: pathlib.Path, nats_mqtt: str = "", autosave: int = 100):
        self.kind = kind
        if kind == "mosquitto":
            self.m = Mosquitto(root / "mosquitto", autosave=autosave).start()
        else:
            extra = "\n".join("  " + s.strip() for s in nats_mqtt.split(",") if s.strip())
            self.c = NatsCluster(root / kind, int(kind[-1]), mqtt_extra=extra).start()

    @property
    def ports(self) -> list[int]:
        return [self.m.port] if self.kind == "mosquitto" else self.c.mqtt_ports

    def workers(self, tmp, url, n, group, share=True):
        env = {"NOXUS_INGEST_MAX_MESSAGES": str(group)}
        if not share:  # one worker, a plain subscription (kept across a broker restart)
            env["NOXUS_INGEST_SHARE_GROUP"] = ""
        if self.kind == "mosquitto":
            return Workers(tmp, url, self.m.port, n, extra_env=env)
        return NatsWorkers(tmp, url, self.c.urls, n, ack_wait_s=30, extra_env=env)

    def stop(self):
        self.m.stop() if self.kind == "mosquitto" else self.c.stop()

    def nodes(self) -> int:
        return 1 if self.kind == "mosquitto" else len(self.c.nodes)

    def start(self):
        if self.kind == "mosquitto":
            self.m.start()
        else:
            for i in range(len(self.c.nodes)):
                self.c.start_node(i)
            self.c.wait_ready()


WORKER_METRICS = {
    "messages": "noxus_ingest_messages_total",
    "groups": "noxus_ingest_commit_seconds_count",
    "commit_s": "noxus_ingest_commit_seconds_sum",
    "acked": "noxus_ingest_ack_latency_seconds_count",
    "arrival_to_puback_s": "noxus_ingest_ack_latency_seconds_sum",
}


def worker_totals(workers, n: int) -> dict:
    return {key: sum(workers.metric(i, name) for i in range(n)) for key, name in WORKER_METRICS.items()}


def raw_connects(port: int, gen: Pool, punches: int, messages: int) -> float:
    """Every load-generator kiosk dials a fresh connection at once and publishes
    its punches (the firmware's batches, QoS 1) to a plain subscriber."""
    run_id = uuid.uuid4().hex[:8]
    root = f"bench/{run_id}/"
    sub = _spawn("bench.raw_subscriber", str(port), str(messages), root + "#", f"bench/{run_id}-done")
    try:
        assert sub.stdout.readline().strip() == "ready", "raw subscriber did not start"
        start = time.monotonic()
        gen.at(f"raw {root} {punches}", TIMEOUT_S)
        line = sub.stdout.readline().split()
        assert line and line[0] == "done", f"raw subscriber: {line}"
        return float(line[1]) - start
    finally:
        _stop(sub)


def _q(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def breakdown(t0: float, times: list[tuple[float, float, float]], before: dict, after: dict) -> dict:
    """Where a storm's time went, per kiosk (times from the load generator:
    connection up, broker's PUBACK of the first batch, final app ack) and in
    the workers (their Prometheus counters, after - before)."""
    up = [u - t0 for u, _, _ in times]
    publish = [p - u for u, p, _ in times if p]
    to_ack = [a - p for _, p, a in times if p and a]
    w = {k: after[k] - before[k] for k in after}
    return {
        "connected_median_s": statistics.median(up),
        "connected_last_s": max(up),
        "puback_median_s": statistics.median(publish) if publish else float("nan"),
        "puback_max_s": max(publish, default=float("nan")),
        "app_ack_median_s": statistics.median(to_ack) if to_ack else float("nan"),
        "app_ack_p95_s": _q(to_ack, 0.95),
        "app_ack_max_s": max(to_ack, default=float("nan")),
        "groups": w["groups"],
        "messages": w["messages"],
        "commit_s": w["commit_s"],
        "arrival_to_puback_mean_s": w["arrival_to_puback_s"] / w["acked"] if w["acked"] else float("nan"),
    }


def storm(broker: Broker, gen: Pool, workers, n_workers: int, punches: int, spread: bool) -> dict:
    """Broker down, `punches` journaled per kiosk, broker up; with `spread`
    the kiosks come back on their own backoff, without it all at once."""
    if not spread:
        gen.ask("hold")
    broker.stop()
    gen.at("down")
    gen.ask(f"tap {punches}")
    before = worker_totals(workers, n_workers)
    resent = gen.stats()["resent"]
    # From the moment the broker's processes start: a cluster's own start-up (routes, JetStream
    # leaders, /healthz) is part of what the kiosks wait for, Mosquitto's is a few ms.
    t_start = time.monotonic()
    broker.start()
    t_ready = time.monotonic()
    t0 = t_start if spread else gen.at("go")
    try:
        t_up = gen.at("up", TIMEOUT_S)
        t_acked = gen.at("acked", TIMEOUT_S)
    except TimeoutError:  # reported as such, not hidden
        return {"timeout": True, "stats": gen.stats()}
    stats = gen.stats()
    return {
        "timeout": False,
        "ready_s": t_ready - t_start,
        "connected_s": t_up - t0,
        "acked_s": t_acked - t0,
        "resent": stats["resent"] - resent,
        **breakdown(t0, gen.times(), before, worker_totals(workers, n_workers)),
    }


def rolling(broker: Broker, gen: Pool, workers, n_workers: int, punches: int) -> dict:
    """The nodes restart one at a time, each healthy again (or HEALTHY_S
    passed) before the next is stopped; every kiosk journals `punches` while
    the first node is down (its kiosks have to move to another node)."""
    before = worker_totals(workers, n_workers)
    resent = gen.stats()["resent"]
    t0 = time.monotonic()
    healthy = []  # per node: stop -> /healthz again, None if not within HEALTHY_S
    for i in range(broker.nodes()):
        t = time.monotonic()
        broker.c.stop_node(i)
        if i == 0:
            gen.ask(f"tap {punches}")
        broker.c.start_node(i)
        try:
            broker.c.wait_ready(HEALTHY_S)
            healthy.append(time.monotonic() - t)
        except TimeoutError:  # see NatsCluster.wait_ready: serving, /healthz not yet 200
            broker.c.wait_ready(HEALTHY_S, caught_up=False)
            healthy.append(None)
    t_back = time.monotonic()
    try:
        gen.at("acked", TIMEOUT_S)
    except TimeoutError:
        return {"timeout": True, "stats": gen.stats(), "healthy": healthy}
    t_acked = max(a for _, _, a in gen.times())  # the last kiosk's final ack, maybe before t_back
    return {
        "timeout": False,
        "healthy": healthy,
        "restart_s": t_back - t0,
        "acked_s": t_acked - t0,
        "after_last_s": max(0.0, t_acked - t_back),
        "resent": gen.stats()["resent"] - resent,
        **breakdown(t0, gen.times(), before, worker_totals(workers, n_workers)),
    }


def run(
    kind: str,
    kiosks: int,
    punches: int,
    n_workers: int,
    window,
    procs,
    group,
    tmp: pathlib.Path,
    nats_mqtt="",
    share=True,
    autosave=100,
) -> dict:
    root = tmp / f"{kind}-{kiosks}-{n_workers}-{window}"
    root.mkdir()
    broker = Broker(kind, root, nats_mqtt, autosave)
    prefix = f"S{kind[0]}{kind[-1]}{n_workers}{window or 0}K"
    batches = -(-punches // BATCH_MAX)
    row = {
        "broker": kind,
        "kiosks": kiosks,
        "punches": kiosks * punches,
        "messages": kiosks * batches,
        "workers": n_workers,
        "window": window or WINDOW,
        "group": group,
        "share": share,
    }
    try:
        with postgres_db() as url:
            engine = make_engine(url)
            register_kiosks(engine, [f"{prefix}{n:05d}" for n in range(kiosks)])
            workers = broker.workers(root, url, n_workers, group, share)
            gen = None
            try:
                row["raw_one_s"] = raw_mqtt(
                    broker.ports[0],
                    Workload(
                        punches=kiosks * punches, per_message=min(punches, BATCH_MAX), kiosks=min(kiosks, 100)
                    ),
                )
                workers.wait_connected(120)
                gen = Pool(broker.ports, kiosks, prefix, window, procs, (root / "loadgen.log").open("w"))
                row["procs"] = len(gen.procs)
                t = time.monotonic()
                gen.at("up", TIMEOUT_S)
                row["first_connect_s"] = time.monotonic() - t
                gen.ask("tap 1")  # warm-up: sessions, cursors, connections exist
                gen.at("acked", TIMEOUT_S)
                # + 1: each kiosk's birth message, which it sends on every connect
                row["raw_s"] = raw_connects(broker.ports[0], gen, punches, kiosks * (batches + 1))
                row["spread"] = storm(broker, gen, workers, n_workers, punches, spread=True)
                print("spread", row["spread"], flush=True)
                if not row["spread"]["timeout"]:
                    row["flat"] = storm(broker, gen, workers, n_workers, punches, spread=False)
                    print("flat", row["flat"], flush=True)
                    storms = 2
                    if broker.nodes() > 1 and not row["flat"]["timeout"]:
                        row["rolling"] = rolling(broker, gen, workers, n_workers, punches)
                        print("rolling", row["rolling"], flush=True)
                        storms += 0 if row["rolling"]["timeout"] else 1
                    with Session(engine) as s:
                        stored = s.exec(select(func.count()).select_from(Punch)).one()
                    expected = kiosks * (1 + storms * punches)
                    assert stored == expected, f"stored {stored}, expected {expected}"
            finally:
                if gen is not None:
                    gen.stop()
                workers.stop()
                engine.dispose()
    finally:
        broker.stop()
    return row


NAMES = {"mosquitto": "Mosquitto", "nats1": "NATS ×1", "nats3": "NATS ×3 (R3)"}


def _s(v: float) -> str:
    return f"{v:.2f} s"


def table(rows: list[dict], note: str) -> str:
    lines = [
        note,
        "",
        (
            "| broker | workers | kiosks | punches (messages) | in flight | raw, one connection "
            "| raw, K connections | broker started → ready (cluster: /healthz on every node) "
            "| with the spread: started → all connected (the spread's window) "
            "| with the spread: started → all acked | **storm / raw** | without the spread: ready → all acked "
            "| **ingest path / raw** | punches/s (with / without the spread) | resends (with / without) |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    details = [
        "",
        "Where the time went (per kiosk: from the broker started (with the spread) or the release (without); connection up → the broker's PUBACK of its "
        "first batch; that PUBACK → its final app ack. Workers: their counters over the storm):",
        "",
        (
            "| broker, kiosks | storm | connected: median / last | → PUBACK: median / max "
            "| PUBACK → final app ack: median / p95 / max | groups committed (messages/group) "
            "| commit time, all groups | mean arrival → PUBACK in the worker |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = (
            f"| {NAMES[r['broker']]} | {r['workers']}{'' if r['share'] else ', plain subscription'} | {r['kiosks']} | {r['punches']} ({r['messages']}) "
            f"| {r['window']} | {_s(r['raw_one_s'])} | {_s(r['raw_s'])} "
        )
        sp, fl = r["spread"], r.get("flat")
        if sp["timeout"] or fl is None or fl["timeout"]:
            lines.append(head + f"| not all within {TIMEOUT_S} s: {(fl or sp)['stats']} | | | | | | | |")
            continue
        lines.append(
            head + f"| {_s(sp['ready_s'])} | {_s(sp['connected_s'])} | {_s(sp['acked_s'])} "
            f"| {sp['acked_s'] / r['raw_s']:.1f}× "
            f"| {_s(fl['acked_s'])} | {fl['acked_s'] / r['raw_s']:.1f}× "
            f"| {r['punches'] / sp['acked_s']:.0f} / {r['punches'] / fl['acked_s']:.0f} "
            f"| {sp['resent']} / {fl['resent']} |"
        )
        for name, b in (("with the spread", sp), ("without", fl)):
            details.append(
                f"| {NAMES[r['broker']]}, {r['kiosks']} | {name} | {_s(b['connected_median_s'])} / {_s(b['connected_last_s'])} "
                f"| {_s(b['puback_median_s'])} / {_s(b['puback_max_s'])} "
                f"| {_s(b['app_ack_median_s'])} / {_s(b['app_ack_p95_s'])} / {_s(b['app_ack_max_s'])} "
                f"| {b['groups']:.0f} ({b['messages'] / max(b['groups'], 1):.0f}) | {_s(b['commit_s'])} "
                f"| {_s(b['arrival_to_puback_mean_s'])} |"
            )
    rolled = [r for r in rows if "rolling" in r]
    if rolled:
        details += [
            "",
            "Rolling restart (a cluster only: P more punches per kiosk, then each node stopped, "
            "started and healthy again before the next):",
            "",
            "| broker | kiosks | per node: stop → healthy | first stop → last node back "
            "| first stop → all acked | last node back → all acked | connected (last time): median / last "
            "| messages (births + batches + resends) | resends |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    for r in rolled:
        ro = r["rolling"]
        nodes = ", ".join("not within %d s" % HEALTHY_S if h is None else _s(h) for h in ro["healthy"])
        if ro["timeout"]:
            details.append(
                f"| {NAMES[r['broker']]} | {r['kiosks']} | {nodes} | not all acked within {TIMEOUT_S} s: {ro['stats']} | | | | | |"
            )
        else:
            details.append(
                f"| {NAMES[r['broker']]} | {r['kiosks']} | {nodes} | {_s(ro['restart_s'])} | {_s(ro['acked_s'])} "
                f"| {_s(ro['after_last_s'])} | {_s(ro['connected_median_s'])} / {_s(ro['connected_last_s'])} "
                f"| {ro['messages']:.0f} | {ro['resent']} |"
            )
    return "\n".join(lines + details)


def write_doc(body: str, block: str = BLOCK, heading: str = HEADING) -> None:
    write_block(DOC, block, body, heading)


def main(argv=None, defaults: dict | None = None, block: str = BLOCK, heading: str = HEADING) -> None:
    d = {
        "kiosks": "1000,10000",
        "punches": 10,
        "workers": "1",
        "brokers": "mosquitto,nats3",
        **(defaults or {}),
    }
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiosks", default=d["kiosks"])
    p.add_argument(
        "--punches", type=int, default=d["punches"], help="journaled per kiosk while the broker is down"
    )
    p.add_argument("--workers", default=d["workers"])
    p.add_argument("--brokers", default=d["brokers"])
    p.add_argument(
        "--window", default="", help="batches in flight per kiosk, e.g. 1,4,8 (default: firmware's)"
    )
    p.add_argument("--procs", type=int, default=0, help="load-generator processes (default: by fleet size)")
    p.add_argument(
        "--group", type=int, default=500, help="messages per group commit (NOXUS_INGEST_MAX_MESSAGES)"
    )
    p.add_argument(
        "--nats-mqtt",
        default="",
        help="more settings of the NATS mqtt block, e.g. 'max_ack_pending: 4096' (the nodes already "
        "hold the kiosks' consumers R1 in memory, as deploy/nats/nats-server.conf)",
    )
    p.add_argument(
        "--no-share",
        action="store_true",
        help="one Mosquitto worker with a plain subscription (NOXUS_INGEST_SHARE_GROUP=''), not $share",
    )
    p.add_argument(
        "--autosave",
        type=int,
        default=100,
        help="Mosquitto's autosave_interval in changes (production: 100; see docs/benchmarks.md for 10 000 kiosks)",
    )
    p.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds one phase may take")
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args(argv)
    globals()["TIMEOUT_S"] = args.timeout  # read by every phase and by the table
    why = pg_available()
    if why:
        raise SystemExit(f"PostgreSQL is needed ({why})")
    raise_nofile(25000)  # brokers started from here inherit it
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="noxus-cstorm-") as tmp:
        for kind in args.brokers.split(","):
            for k in [int(x) for x in args.kiosks.split(",")]:
                for w in [int(x) for x in args.workers.split(",")]:
                    for window in [int(x) for x in args.window.split(",")] if args.window else [None]:
                        rows.append(
                            run(
                                kind,
                                k,
                                args.punches,
                                w,
                                window,
                                args.procs,
                                args.group,
                                pathlib.Path(tmp),
                                args.nats_mqtt,
                                not args.no_share,
                                args.autosave,
                            )
                        )
                        print(rows[-1], flush=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"Measured {now} by `python -m bench.{block} --kiosks {args.kiosks} --punches {args.punches} "
        f"--workers {args.workers} --brokers {args.brokers} --group {args.group}"
        + (f" --window {args.window}" if args.window else "")
        + (f" --nats-mqtt '{args.nats_mqtt}'" if args.nats_mqtt else "")
        + (" --no-share" if args.no_share else "")
        + (f" --autosave {args.autosave}" if args.autosave != 100 else "")
        + (f" --timeout {args.timeout}" if args.timeout != 900 else "")
        + f"`, load generator in {', '.join(str(r.get('procs', '?')) for r in rows)} process(es), "
        f"{platform.machine()} {len(os.sched_getaffinity(0))} cores shared with other work "
        f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}, PostgreSQL; every punch stored exactly once in every row."
    )
    body = table(rows, note)
    print(body)
    if not args.no_doc:
        write_doc(body, block, heading)


if __name__ == "__main__":
    main()
