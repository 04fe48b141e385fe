"""python -m bench [--punches N] [--single N] [--db sqlite,postgresql] [--workers 1,2] [--no-write]

Runs (a), (b), (c) for each database on one private Mosquitto and prints the
table; writes it into docs/benchmarks.md unless --no-write.
"""

import argparse
import contextlib
import os
import pathlib
import platform
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.ingest.models import Punch
from sqlalchemy import func, select
from sqlmodel import Session

from bench import databases, report, scenarios
from bench.common import Workload
from devstack.broker import Mosquitto

REPO = pathlib.Path(__file__).resolve().parent.parent


def _mosquitto_version(exe: str) -> str:
    out = subprocess.run([exe, "-h"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "mosquitto"


def _stored(engine, prefix: str) -> int:
    with Session(engine) as s:
        return s.execute(
            select(func.count()).select_from(Punch).where(Punch.kiosk_id.like(prefix + "-%"))
        ).scalar_one()


def _check_stored(engine, prefix: str, expected: int) -> None:
    stored = _stored(engine, prefix)
    if stored != expected:
        raise SystemExit(f"{prefix}: {stored} punches stored, expected {expected}: not exactly once")


def run_database(
    name: str, url: str, port: int, workloads: list[Workload], tag: str, workers: int = 1
) -> list[report.Row]:
    engine = make_engine(url)
    rows = []
    tag = f"{tag}w{workers}"
    for w in workloads:
        databases.register_kiosks(
            engine, [k for path in "bsc" for k in w.kiosk_ids(f"{path}{w.per_message}{tag}")]
        )
    databases.register_kiosks(engine, [f"warm{tag}-00"])
    version = databases.server_version(engine)
    # Several workers share `$share/ingest`: the broker deals them the batches.
    procs = [scenarios.IngestWorkerProcess(url, port) for _ in range(workers)]
    try:
        scenarios.warm_up(port, f"warm{tag}")
        for w in workloads:
            label = w.label + (f", {workers} workers" if workers > 1 else "")
            print(f"[{name}] {label}: {w.punches} punches in {w.messages} messages", flush=True)
            a = scenarios.raw_mqtt(port, w)
            print(f"  (a) raw MQTT        {a:7.2f} s", flush=True)
            b = scenarios.raw_insert(engine, w, f"b{w.per_message}{tag}")
            print(f"  (b) raw INSERT      {b:7.2f} s", flush=True)
            b2 = scenarios.raw_insert_split(engine, w, f"s{w.per_message}{tag}")
            if b2 is not None:
                print(f"  (b') split INSERT   {b2:7.2f} s", flush=True)
            c = scenarios.durable_ingest(port, w, f"c{w.per_message}{tag}")
            print(f"  (c) durable ingest  {c:7.2f} s", flush=True)
            _check_stored(engine, f"c{w.per_message}{tag}", w.punches)
            row = report.Row(version, label, w.punches, w.messages, a, b, c, b2)
            print(f"  c/a = {row.c_over_a:.0%}   c/b = {row.c_over_b:.0%}", flush=True)
            rows.append(row)
    finally:
        for proc in procs:
            proc.stop()
        engine.dispose()
    return rows


def run_rounds(name: str, url: str, port: int, workloads: list[Workload], args) -> list[report.Row]:
    """Every measurement `--rounds` times, interleaved (the load of a shared
    machine drifts); the table keeps the median of each."""
    rounds = []
    for r in range(args.rounds):
        rounds.append(
            [row for n in args.workers for row in run_database(name, url, port, workloads, f"r{r}", n)]
        )
    return [report.median(list(same)) for same in zip(*rounds, strict=True)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--punches", type=int, default=20_000, help="punches in the batched workload")
    ap.add_argument(
        "--batch", type=int, default=20, help="punches per message (firmware sender: BATCH_MAX = 20)"
    )
    ap.add_argument("--single", type=int, default=2_000, help="punches in the 1-punch/message workload")
    ap.add_argument("--kiosks", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="repetitions; the table shows medians")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument(
        "--workers",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[1],
        help="ingest worker processes, e.g. 1,2 (each count measured in turn)",
    )
    ap.add_argument("--out", type=pathlib.Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument(
        "--autosave",
        type=int,
        default=100,
        help="Mosquitto autosave_interval (changes between saves); 100 as in "
        "deploy/mosquitto/mosquitto.conf, the devstack default is 1",
    )
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    workloads = [Workload(args.punches, args.batch, args.kiosks), Workload(args.single, 1, args.kiosks)]
    for w in workloads:
        if w.punches % (w.kiosks * w.per_message):
            ap.error(f"{w.punches} punches do not split into {w.kiosks} kiosks x {w.per_message}/message")
    wanted = args.db.split(",")
    rows: list[report.Row] = []
    notes = []
    with (
        tempfile.TemporaryDirectory(prefix="noxus-bench-") as tmp,
        Mosquitto(pathlib.Path(tmp) / "mosquitto", autosave=args.autosave) as broker,
    ):
        if "sqlite" in wanted:
            with databases.sqlite_db(pathlib.Path(tmp)) as url:
                rows += run_rounds("sqlite", url, broker.port, workloads, args)
        if "postgresql" in wanted:
            why = databases.pg_available()
            if why:
                notes.append(f"PostgreSQL skipped: {why}")
                print(notes[-1], file=sys.stderr)
            else:
                with databases.postgres_db() as url:
                    rows += run_rounds("postgresql", url, broker.port, workloads, args)
        mosquitto = _mosquitto_version(broker.exe)
    context = [
        (
            f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench` "
            f"(`--punches {args.punches} --batch {args.batch} --single {args.single} --kiosks {args.kiosks} "
            f"--rounds {args.rounds} --workers {','.join(map(str, args.workers))}`): "
            f"{platform.machine()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end), "
            f"Python {platform.python_version()}, {mosquitto} with autosave_on_changes every {args.autosave} "
            "changes; "
            "one ingest worker unless the row says more; "
            f"median of {args.rounds} rounds. Rates are per second of wall-clock time "
            "for the whole workload."
        ),
        *notes,
    ]
    print(report.table(rows, context))
    if not args.no_write:
        report.write(args.out, rows, context)
        print(f"written to {args.out}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C: workers, broker and scratch database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.suppress(KeyboardInterrupt):
        main()
