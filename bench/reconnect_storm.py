"""Reconnect storm (issue 5): N load kiosks (tests/fleet/loadkiosk.py: paho +
the real firmware Sender) each journal P punches while the broker is down;
the broker restarts and they all reconnect and resend at once to 1, then 2,
`noxus ingest` workers on PostgreSQL. Measured: restart → every kiosk
connected, restart → every kiosk holds its final app ack, and as the
baseline, in the same run and on the same broker, a raw QoS 1
publish → subscribe of the same number of messages (bench.scenarios.raw_mqtt).

    python -m bench.reconnect_storm [--kiosks 200] [--punches 100] [--workers 1,2]
"""

import argparse
import datetime as dt
import os
import pathlib
import platform
import re
import tempfile

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.ingest.models import Punch
from sqlmodel import Session, func, select

from bench.common import Workload
from bench.databases import pg_available, postgres_db, register_kiosks
from bench.scenarios import raw_mqtt
from devstack.broker import Mosquitto
from firmware.core.sender import BATCH_MAX
from tests.fleet.storm import Fleet
from tests.fleet.test_backpressure import Workers

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- bench:reconnect_storm -->", "<!-- /bench:reconnect_storm -->"


def run(kiosks: int, punches: int, n_workers: int, workdir: pathlib.Path) -> dict:
    work = Workload(punches=kiosks * punches, per_message=BATCH_MAX, kiosks=kiosks)
    broker = Mosquitto(workdir / f"mosquitto-{n_workers}").start()
    with postgres_db() as url:
        engine = make_engine(url)
        fleet = Fleet(f"ST{n_workers}-", kiosks, broker.port)
        register_kiosks(engine, fleet.ids)
        workers = Workers(workdir, url, broker.port, n_workers)
        try:
            raw_s = raw_mqtt(broker.port, work)
            workers.wait_connected()
            fleet.start()
            fleet.tap_all(1)  # warm-up: sessions, cursors and connections exist
            fleet.wait(fleet.all_acked, 120, "warm-up")
            times = fleet.storm(broker, punches, timeout=600)
            with Session(engine) as s:
                stored = s.exec(select(func.count()).select_from(Punch)).one()
                distinct = len(set(s.exec(select(Punch.kiosk_id, Punch.seq)).all()))
            expected = kiosks * (punches + 1)
            assert stored == distinct == expected, (
                f"stored {stored}, distinct {distinct}, expected {expected}"
            )
        finally:
            fleet.stop()
            workers.stop()
            engine.dispose()
            broker.stop()
    return {
        "workers": n_workers,
        "kiosks": kiosks,
        "punches": kiosks * punches,
        "messages": work.messages,
        "raw_s": raw_s,
        "reconnect_s": times.reconnect_s,
        "drain_s": times.drain_s,
    }


def table(rows: list[dict], note: str) -> str:
    lines = [
        note,
        "",
        (
            "| workers | kiosks | punches | messages | raw pub→sub | restart → all connected "
            "| restart → all acked | acked / raw | (acked − connected) / raw | punches/s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        drain_only = r["drain_s"] - r["reconnect_s"]
        lines.append(
            f"| {r['workers']} | {r['kiosks']} | {r['punches']} | {r['messages']} | {r['raw_s']:.2f} s "
            f"| {r['reconnect_s']:.2f} s | {r['drain_s']:.2f} s | {r['drain_s'] / r['raw_s']:.1f}x "
            f"| {drain_only / r['raw_s']:.1f}x | {r['punches'] / r['drain_s']:.0f} |"
        )
    return "\n".join(lines)


def write_doc(body: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{body}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n## Reconnect storm (issue 5)\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiosks", type=int, default=200)
    p.add_argument("--punches", type=int, default=100, help="journaled per kiosk while the broker is down")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--no-doc", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = p.parse_args()
    why = pg_available()
    if why:
        raise SystemExit(
            f"PostgreSQL is needed for the reconnect storm ({why}); start it or set NOXUS_BENCH_PG"
        )
    rows = []
    with tempfile.TemporaryDirectory(prefix="noxus-storm-") as tmp:
        for n in [int(w) for w in args.workers.split(",")]:
            rows.append(run(args.kiosks, args.punches, n, pathlib.Path(tmp)))
            print(rows[-1], flush=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"Measured {now} by `python -m bench.reconnect_storm --kiosks {args.kiosks} --punches {args.punches}`, "
        f"{platform.machine()} {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, PostgreSQL, one Mosquitto; 0 lost, 0 duplicated in every row."
    )
    body = table(rows, note)
    print(body)
    if not args.no_doc:
        write_doc(body)


if __name__ == "__main__":
    main()
