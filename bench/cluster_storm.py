"""Reconnect storm at fleet scale (issue 21): K kiosks (bench/loadgen.py, one
asyncio process, the firmware's Sender and reconnect code) are connected and
acked; the broker stops, each kiosk journals P punches, the broker comes
back; measured: broker up -> every kiosk holds its final ack. The baseline,
in the same run and on the same broker: a raw QoS 1 publish -> subscribe of
the same messages (bench.scenarios.raw_mqtt: P punches per message, K messages).

Brokers: `mosquitto` (one node, `$share` workers), `nats1` and `nats3` (one or
three NATS nodes: MQTT gateway, JetStream R1/R3 stream, a durable consumer).

    python -m bench.cluster_storm [--kiosks 1000,10000] [--punches 10] [--workers 1]
                                  [--brokers mosquitto,nats3] [--window 4] [--no-doc]
"""

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import re
import select as io_select
import subprocess
import sys
import tempfile
import time

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.ingest.models import Punch
from sqlmodel import Session, func, select

from bench.common import Workload
from bench.databases import pg_available, postgres_db, register_kiosks
from bench.loadgen import raise_nofile
from bench.scenarios import raw_mqtt
from devstack.broker import Mosquitto
from devstack.nats import NatsCluster
from firmware.core.pipeline import WINDOW
from tests.cluster.harness import NatsWorkers
from tests.fleet.test_backpressure import Workers

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- bench:cluster_storm -->", "<!-- /bench:cluster_storm -->"


class Broker:
    """Mosquitto or a NATS cluster behind one interface: ports, stop, start."""

    def __init__(self, kind: str, root: pathlib.Path):
        self.kind = kind
        if kind == "mosquitto":
            self.m = Mosquitto(root / "mosquitto").start()
        else:
            self.c = NatsCluster(root / kind, int(kind[-1])).start()

    @property
    def ports(self) -> list[int]:
        return [self.m.port] if self.kind == "mosquitto" else self.c.mqtt_ports

    def workers(self, tmp, url, n):
        if self.kind == "mosquitto":
            return Workers(tmp, url, self.m.port, n)
        return NatsWorkers(tmp, url, self.c.urls, n, ack_wait_s=30)

    def stop(self):
        self.m.stop() if self.kind == "mosquitto" else self.c.stop()

    def start(self):
        if self.kind == "mosquitto":
            self.m.start()
        else:
            for i in range(len(self.c.nodes)):
                self.c.start_node(i)
            self.c.wait_ready()


class LoadGen:
    def __init__(self, ports, kiosks, prefix, window, log):
        cmd = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--ports",
            ",".join(map(str, ports)),
            "--kiosks",
            str(kiosks),
            "--prefix",
            prefix,
        ]
        if window:
            cmd += ["--window", str(window)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)

    def ask(self, line: str, timeout: float = 300) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        if not io_select.select([self.p.stdout], [], [], timeout)[0]:
            raise TimeoutError(f"{line!r}: no answer in {timeout:.0f} s")
        out = self.p.stdout.readline().strip()
        if not out:
            raise RuntimeError(f"load generator died on {line!r}")
        return out

    def at(self, line: str) -> float:
        return float(self.ask(line).split()[1])

    def stop(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()


def run(kind: str, kiosks: int, punches: int, n_workers: int, window, tmp: pathlib.Path) -> dict:
    root = tmp / f"{kind}-{kiosks}-{n_workers}-{window}"
    root.mkdir()
    broker = Broker(kind, root)
    prefix = f"S{kind[0]}{kind[-1]}{n_workers}{window or 0}K"
    try:
        with postgres_db() as url:
            engine = make_engine(url)
            register_kiosks(engine, [f"{prefix}{n:05d}" for n in range(kiosks)])
            workers = broker.workers(root, url, n_workers)
            gen = None
            try:
                raw_s = raw_mqtt(
                    broker.ports[0],
                    Workload(punches=kiosks * punches, per_message=punches, kiosks=min(kiosks, 100)),
                )
                workers.wait_connected(120)
                gen = LoadGen(broker.ports, kiosks, prefix, window, (root / "loadgen.log").open("w"))
                t = time.monotonic()
                gen.at("up")
                connect_s = time.monotonic() - t
                gen.ask("tap 1")  # warm-up: sessions, cursors, connections exist
                gen.at("acked")
                broker.stop()
                gen.at("down")
                gen.ask(f"tap {punches}")
                t0 = time.monotonic()
                broker.start()
                try:
                    t_up = gen.at("up")
                    t_acked = gen.at("acked")
                except TimeoutError:  # reported as such, not hidden
                    stats = json.loads(gen.ask("stats").split(" ", 1)[1])
                    return {
                        "broker": kind,
                        "kiosks": kiosks,
                        "punches": kiosks * punches,
                        "workers": n_workers,
                        "window": window or WINDOW,
                        "raw_s": raw_s,
                        "first_connect_s": connect_s,
                        "reconnect_s": None,
                        "storm_s": None,
                        "resent": stats["resent"],
                        "stats": stats,
                    }
                stats = json.loads(gen.ask("stats").split(" ", 1)[1])
                with Session(engine) as s:
                    stored = s.exec(select(func.count()).select_from(Punch)).one()
                expected = kiosks * (punches + 1)
                assert stored == expected, f"stored {stored}, expected {expected}"
            finally:
                if gen is not None:
                    gen.stop()
                workers.stop()
                engine.dispose()
    finally:
        broker.stop()
    return {
        "broker": kind,
        "kiosks": kiosks,
        "punches": kiosks * punches,
        "workers": n_workers,
        "window": window or WINDOW,
        "raw_s": raw_s,
        "first_connect_s": connect_s,
        "reconnect_s": t_up - t0,
        "storm_s": t_acked - t0,
        "resent": stats["resent"],
    }


NAMES = {"mosquitto": "Mosquitto", "nats1": "NATS ×1", "nats3": "NATS ×3 (R3)"}


def table(rows: list[dict], note: str) -> str:
    lines = [
        note,
        "",
        (
            "| broker | workers | kiosks | punches | in flight | raw pub→sub | up → all connected "
            "| up → all acked | storm / raw | (acked − connected) / raw | punches/s | resends |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["storm_s"] is None:
            lines.append(
                f"| {NAMES[r['broker']]} | {r['workers']} | {r['kiosks']} | {r['punches']} | {r['window']} "
                f"| {r['raw_s']:.2f} s | not all within 300 s: {r['stats']} | | | | | |"
            )
            continue
        lines.append(
            f"| {NAMES[r['broker']]} | {r['workers']} | {r['kiosks']} | {r['punches']} | {r['window']} "
            f"| {r['raw_s']:.2f} s "
            f"| {r['reconnect_s']:.2f} s | {r['storm_s']:.2f} s | {r['storm_s'] / r['raw_s']:.1f}× "
            f"| {(r['storm_s'] - r['reconnect_s']) / r['raw_s']:.1f}× "
            f"| {r['punches'] / r['storm_s']:.0f} | {r['resent']} |"
        )
    return "\n".join(lines)


def write_doc(body: str) -> None:
    text_ = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{body}\n{END}"
    if START in text_:
        text_ = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text_, flags=re.DOTALL)
    else:
        text_ = (
            text_.rstrip("\n")
            + "\n\n## Reconnect storm at fleet scale, cluster vs single broker (issue 21)\n\n"
            + block
            + "\n"
        )
    DOC.write_text(text_)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiosks", default="1000,10000")
    p.add_argument("--punches", type=int, default=10, help="journaled per kiosk while the broker is down")
    p.add_argument("--workers", default="1")
    p.add_argument("--brokers", default="mosquitto,nats3")
    p.add_argument(
        "--window", default="", help="batches in flight per kiosk, e.g. 1,4,8 (default: firmware's)"
    )
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args()
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
                        rows.append(run(kind, k, args.punches, w, window, pathlib.Path(tmp)))
                        print(rows[-1], flush=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"Measured {now} by `python -m bench.cluster_storm --kiosks {args.kiosks} --punches {args.punches} "
        f"--workers {args.workers} --brokers {args.brokers}"
        + (f" --window {args.window}" if args.window else "")
        + f"`, {platform.machine()} "
        f"{len(os.sched_getaffinity(0))} cores shared with other work (load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, PostgreSQL; "
        "every punch stored exactly once in every row."
    )
    body = table(rows, note)
    print(body)
    if not args.no_doc:
        write_doc(body)


if __name__ == "__main__":
    main()
