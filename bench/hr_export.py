"""python -m bench.hr_export [--employees 1000] [--db sqlite,postgresql] [--no-write]

Also the payroll export of issue 14 (a row per employee: worked, target,
overtime, night/Sunday, absences, vacation, balance carried) for the same month.

Timesheet export of N employees x one month (2 punches per working day,
March 2026: 22 days, so 44 000 punches for 1 000 employees) to XLSX and CSV,
as a ratio to the raw SELECT of the same punches in the same run. Writes the
table into docs/benchmarks.md between the bench:hr_export markers.
"""

import argparse
import os
import pathlib
import platform
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.hr import export_service, payroll_service
from noxus.hr.models import Badge, Employee, OpeningBalance
from noxus.ingest.models import Punch
from noxus.tenancy.models import Customer, Site
from sqlalchemy import insert, select
from sqlmodel import Session

from bench.databases import PG_ADMIN_URL
from tests.support import pg

REPO = pathlib.Path(__file__).resolve().parent.parent
ZH = ZoneInfo("Europe/Zurich")
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)


def seed(engine, employees: int) -> tuple[int, int]:
    with Session(engine) as s:
        s.add(Kiosk(id="BENCH-1", name="bench"))
        c = Customer(name="Bench SA")
        s.add(c)
        s.flush()
        s.add(Site(customer_id=c.id, name="HQ"))
        s.flush()
        cid = c.id
        s.execute(
            insert(Employee),
            [
                {
                    "customer_id": cid,
                    "first_name": f"F{i}",
                    "last_name": f"L{i:05d}",
                    "personnel_number": f"{i:05d}",
                    "weekly_minutes": 2520,
                    "active_from": date(2020, 1, 1),
                    "created_at": datetime.now(UTC),
                }
                for i in range(employees)
            ],
        )
        ids = (
            s.exec(select(Employee.id).where(Employee.customer_id == cid).order_by(Employee.id))
            .scalars()
            .all()
        )
        s.execute(
            insert(Badge),
            [
                {
                    "customer_id": cid,
                    "uid": f"{0x04000000 + i:08X}",
                    "employee_id": e,
                    "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
                    "state": "active",
                    "created_at": datetime.now(UTC),
                }
                for i, e in enumerate(ids)
            ],
        )
        rows, seq = [], 0
        d = FIRST
        while d <= LAST:
            if d.weekday() < 5:
                for i in range(len(ids)):
                    for h, m in ((7 + i % 3, i % 60), (16 + i % 3, (i * 7) % 60)):
                        seq += 1
                        ts = datetime(d.year, d.month, d.day, h, m, tzinfo=ZH).astimezone(UTC)
                        rows.append(
                            {
                                "kiosk_id": "BENCH-1",
                                "seq": seq,
                                "badge_uid": f"{0x04000000 + i:08X}",
                                "kind": "punch",
                                "ts": ts,
                                "received_at": ts,
                            }
                        )
            d += timedelta(days=1)
        for i in range(0, len(rows), 5000):
            s.execute(insert(Punch), rows[i : i + 5000])
        # tracking starts on 1 March (a customer's first month): the payroll carries from there
        s.execute(
            insert(OpeningBalance),
            [
                {
                    "employee_id": e,
                    "customer_id": cid,
                    "tracked_from": FIRST,
                    "overtime_minutes": 0,
                    "vacation_days_x2": 20,
                    "created_at": datetime.now(UTC),
                }
                for e in ids
            ],
        )
        s.commit()
        return cid, len(rows)


def timed(fn, repeat=1) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def run(url: str, employees: int) -> dict:
    upgrade(url)
    engine = make_engine(url)
    cid, n = seed(engine, employees)
    lo = datetime(2026, 3, 1, tzinfo=ZH).astimezone(UTC)
    hi = datetime(2026, 4, 1, tzinfo=ZH).astimezone(UTC)

    def raw_select():
        with Session(engine) as s:
            # every column of the same punches, as plain rows (no ORM objects)
            got = s.execute(select(*Punch.__table__.columns).where(Punch.ts >= lo, Punch.ts < hi)).all()
            assert len(got) == n

    sizes = {}

    def export(fmt):
        def go():
            with Session(engine) as s:
                f = export_service.build(s, Scope.everything(), cid, FIRST, LAST, fmt, settings=Settings())
                sizes[fmt] = len(f.content)

        return go

    def payroll(fmt):
        def go():
            with Session(engine) as s:
                f = payroll_service.build(s, cid, {"year": 2026, "month": 3, "format": fmt}, Settings())
                sizes["payroll-" + fmt] = len(f.content)

        return go

    raw_select()  # warm caches the same way for every measurement
    t_select = timed(raw_select, 3)
    t_xlsx = timed(export("xlsx"))
    t_csv = timed(export("csv"))

    def paired(fn, repeat=3) -> tuple[float, float]:
        """(median time, median ratio): each run right after its own SELECT, so both see the same
        load of the shared machine (a run of a few seconds swings with it)."""
        times, ratios = [], []
        for _ in range(repeat):
            base = timed(raw_select)
            times.append(timed(fn))
            ratios.append(times[-1] / base)
        return statistics.median(times), statistics.median(ratios)

    t_pay, r_pay = paired(payroll("xlsx"))
    t_pay_csv, r_pay_csv = paired(payroll("csv-excel"))
    engine.dispose()
    return {
        "punches": n,
        "select": t_select,
        "xlsx": t_xlsx,
        "csv": t_csv,
        "xlsx_bytes": sizes["xlsx"],
        "payroll": t_pay,
        "payroll_csv": t_pay_csv,
        "payroll_ratio": r_pay,
        "payroll_csv_ratio": r_pay_csv,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--employees", type=int, default=1000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    results = {}
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results[db] = run(f"sqlite:///{tmp}/bench.db", args.employees)
        else:
            with pg.scratch_database(PG_ADMIN_URL, "noxus_bench_") as url:
                results[db] = run(url, args.employees)
    lines = [
        (
            f"HR export, {args.employees} employees x March 2026 (2 punches per working day), "
            f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()} {os.cpu_count()} cores, Python "
            f"{platform.python_version()}:"
        ),
        "",
        (
            "| database | punches | raw SELECT | XLSX export | XLSX / SELECT | CSV export | CSV / SELECT | XLSX size "
            "| payroll XLSX | payroll XLSX / SELECT | payroll CSV | payroll CSV / SELECT |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for db, r in results.items():
        lines.append(
            f"| {db} | {r['punches']} | {r['select']:.2f} s | {r['xlsx']:.2f} s | "
            f"{r['xlsx'] / r['select']:.1f}x | {r['csv']:.2f} s | {r['csv'] / r['select']:.1f}x | "
            f"{r['xlsx_bytes'] / 1e6:.1f} MB | {r['payroll']:.2f} s | {r['payroll_ratio']:.1f}x | "
            f"{r['payroll_csv']:.2f} s | {r['payroll_csv_ratio']:.1f}x |"
        )
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = REPO / "docs" / "benchmarks.md"
        text_ = doc.read_text() if doc.exists() else "# Benchmarks\n"
        start, end = "<!-- bench:hr_export -->", "<!-- /bench:hr_export -->"
        if start in text_:
            text_ = text_[: text_.index(start) + len(start)] + "\n" + table + "\n" + text_[text_.index(end) :]
        else:
            text_ += f"\n## HR export (issue 6)\n\n{start}\n{table}\n{end}\n"
        doc.write_text(text_)


if __name__ == "__main__":
    main()
