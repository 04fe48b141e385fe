"""Monthly invoice run for N customers, compared with a raw INSERT of the same invoice rows.

    python -m bench.billing_run [--customers 10000] [--db sqlite|postgresql|both]

For each backend: a freshly migrated database with N customers (billing profile, contract,
plan), then
  (run)   noxus.billing.run.run_month for the month, finalized (gapless numbers, references),
          without PDFs/e-mails (rendering is measured separately, per invoice);
  (rerun) the same run again: must create 0 invoices (best of 3), compared with
  (select) one SELECT of every contract row in the same session (best of 3);
  (raw)   the same invoice and line rows (as the run stored them) inserted with SQLAlchemy Core
          executemany in one transaction into a second freshly migrated database;
  (pdf)   invoice PDF with QR-bill rendering for 100 of the invoices, per invoice.
Prints a Markdown table (docs/benchmarks.md, "Monthly billing run")."""

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.billing.issuing import render_invoice
from noxus.billing.models import BillingProfile, Contract, Invoice, InvoiceLine
from noxus.billing.run import RunResult, run_month
from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.core.settings import Settings
from noxus.tenancy.models import Customer
from sqlalchemy import insert, select
from sqlmodel import Session

from bench.databases import PG_ADMIN_URL
from tests.support import pg
from tests.support.billing import standard_plan


def fresh_db(kind: str, tmp: str) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{tmp}/bill-{uuid.uuid4().hex[:6]}.db", lambda: None
    url = pg.create_database(PG_ADMIN_URL, "noxus_bench_")
    return url, lambda: pg.drop_database(PG_ADMIN_URL, url)


def populate(engine, n: int) -> None:
    with Session(engine) as s:
        plan = standard_plan(s)
        s.commit()
        with engine.begin() as conn:
            conn.execute(insert(Customer), [{"name": f"Customer {i}", "language": "fr"} for i in range(n)])
            ids = conn.execute(select(Customer.id).order_by(Customer.id)).scalars().all()
            conn.execute(
                insert(BillingProfile),
                [
                    dict(
                        customer_id=cid,
                        legal_name=f"Customer {cid}",
                        street="Rue",
                        house_num="1",
                        postcode="1000",
                        town="Lausanne",
                        country="CH",
                        invoice_email=f"c{cid}@example.ch",
                        language="fr",
                        contact_name="Contact",
                        contact_email=f"k{cid}@example.ch",
                        contact_street="Rue",
                        contact_house_num="2",
                        contact_postcode="1000",
                        contact_town="Lausanne",
                        contact_country="CH",
                        overdue_state="good",
                    )
                    for cid in ids
                ],
            )
            conn.execute(
                insert(Contract),
                [
                    dict(
                        customer_id=cid,
                        plan_id=plan.id,
                        start_date=date(2026, 1, 1),
                        initial_term_months=12,
                        renewal_term_months=12,
                        notice_months=3,
                        metering_mode="punched",
                        index_revision=False,
                        prorata_refund=True,
                        setup_invoiced=False,
                    )
                    for cid in ids
                ],
            )


def meter(session, customer_ids, year, month, mode="punched"):
    return {cid: 8 + cid % 7 for cid in customer_ids}  # 8-14 users: about half have additional users


T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def bench(kind: str, n: int, tmp: str) -> dict:
    url, drop = fresh_db(kind, tmp)
    url2, drop2 = fresh_db(kind, tmp)
    try:
        upgrade(url)
        upgrade(url2)
        engine, engine2 = make_engine(url), make_engine(url2)
        populate(engine, n)
        settings = Settings(_env_file=None)
        with Session(engine) as s:

            def run(month: date) -> RunResult:
                # issued at once (drafts numbered in the same run), as the daily job with AUTO_ISSUE_DAYS=0
                return run_month(
                    s, month, settings, meter=meter, issue=True, today=month, issue_documents=False
                )

            run(date(2026, 1, 1))  # setup month
            r, t_run = _timed(lambda: run(date(2026, 2, 1)))
            again, t_rerun = _timed(lambda: run(date(2026, 2, 1)))
            # the re-run's baseline: one SELECT of every contract row (best of 3, as the re-run's)
            t_select = min(_timed(lambda: s.execute(select(Contract.__table__)).all())[1] for _ in range(3))
            t_rerun = min([t_rerun] + [_timed(lambda: run(date(2026, 2, 1)))[1] for _ in range(2)])
        with engine.connect() as c:
            invs = [
                dict(row._mapping)
                for row in c.execute(select(Invoice.__table__).where(Invoice.period == date(2026, 2, 1)))
            ]
            ids = [i["id"] for i in invs]
            lines = [
                dict(row._mapping)
                for row in c.execute(select(InvoiceLine.__table__).where(InvoiceLine.invoice_id.in_(ids)))
            ]
        populate(engine2, n)  # same customers/contracts for the foreign keys
        for i in invs:
            i.pop("id")
        t0 = time.perf_counter()
        with engine2.begin() as conn:
            new_ids = (
                conn.execute(insert(Invoice.__table__).returning(Invoice.__table__.c.id), invs)
                .scalars()
                .all()
                if kind == "postgresql"
                else None
            )
            if new_ids is None:
                conn.execute(insert(Invoice.__table__), invs)
                new_ids = conn.execute(select(Invoice.id).order_by(Invoice.id)).scalars().all()
            remap = dict(zip(ids, new_ids, strict=False))
            for ln in lines:
                ln.pop("id")
                ln["invoice_id"] = remap[ln["invoice_id"]]
            conn.execute(insert(InvoiceLine.__table__), lines)
        t_raw = time.perf_counter() - t0
        with Session(engine) as s:
            sample = (
                s.exec(select(Invoice).where(Invoice.period == date(2026, 2, 1)).limit(100)).scalars().all()
            )
            t0 = time.perf_counter()
            for inv in sample:
                render_invoice(s, inv, settings)
            t_pdf = (time.perf_counter() - t0) / max(1, len(sample))
        engine.dispose()
        engine2.dispose()
        return {
            "db": kind,
            "customers": n,
            "created": len(r.created),
            "lines": len(lines),
            "run_s": t_run,
            "raw_s": t_raw,
            "ratio": t_run / t_raw,
            "rerun_created": len(again.created),
            "rerun_s": t_rerun,
            "select_s": t_select,
            "pdf_s": t_pdf,
        }
    finally:
        drop()
        drop2()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=10000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(
        "| database | customers | invoices created | lines | run (s) | raw insert (s) | run / raw | "
        "second run: created, s | one SELECT of the contracts (s) | second run / SELECT | "
        "PDF + QR-bill per invoice (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            r = bench(kind, args.customers, tmp)
            print(
                f"| {r['db']} | {r['customers']} | {r['created']} | {r['lines']} | {r['run_s']:.1f} | "
                f"{r['raw_s']:.2f} | {r['ratio']:.1f}× | {r['rerun_created']}, {r['rerun_s']:.3f} | "
                f"{r['select_s']:.3f} | {r['rerun_s'] / r['select_s']:.1f}× | "
                f"{r['pdf_s']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
