"""`noxus billing ...`: the monthly run, dunning, camt.054 import, the outbox, and `daily`
(what a scheduler — cron or a systemd timer — runs every morning)."""

import pathlib
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from noxus.core.settings import get_settings

app = typer.Typer(help="Billing: invoices, payments, dunning, retrieval", no_args_is_help=True)
console = Console()


def _today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def _session():
    from sqlmodel import Session

    from noxus.core.db import get_engine

    return Session(get_engine())


@app.command("run")
def run(period: str = typer.Option(None, help="month to invoice, YYYY-MM (default: the current month)"),
        no_documents: bool = typer.Option(False, help="do not render PDFs nor queue e-mails")) -> None:
    """Invoice every contract for a month (idempotent: a re-run creates nothing)."""
    from noxus.billing.run import run_month

    try:
        day = date.fromisoformat(f"{period}-01") if period else _today().replace(day=1)
    except ValueError:
        console.print(f"[red]period {period!r} must look like 2026-03[/red]")
        raise typer.Exit(2) from None
    with _session() as s:
        r = run_month(s, day, get_settings(), actor="cli", issue_documents=not no_documents)
    console.print(f"{day:%Y-%m}: {len(r.created)} invoices created, {r.existing} already invoiced, "
                  f"{r.nothing_due} with nothing due")
    for err in r.errors:
        console.print(f"[red]{err}[/red]")


@app.command("issue")
def issue_missing() -> None:
    """Render the PDF and queue the e-mail of finalized invoices that have none yet
    (after `run --no-documents`); safe to repeat."""
    from sqlmodel import select

    from noxus.billing.issuing import issue
    from noxus.billing.models import Document, Invoice

    with _session() as s:
        done = select(Document.invoice_id).where(Document.kind.in_(["invoice", "credit_note"]))
        todo = s.exec(select(Invoice).where(Invoice.number.is_not(None), Invoice.id.not_in(done))).all()
        for inv in todo:
            issue(s, inv, get_settings(), actor="cli")
            s.commit()
    console.print(f"{len(todo)} invoices issued")


@app.command("dunning")
def dunning_cmd(today: str = typer.Option(None, help="YYYY-MM-DD (default: today, Europe/Zurich)")) -> None:
    """Reminders, suspensions and §7.6 retrieval flags due today."""
    from noxus.billing.dunning import run_dunning

    with _session() as s:
        r = run_dunning(s, date.fromisoformat(today) if today else _today(), get_settings(), actor="cli")
    console.print(f"{len(r.reminders)} reminders, {len(r.suspended)} suspended, "
                  f"{len(r.retrieval_cases)} retrieval cases, {len(r.cleared)} cleared")


@app.command("import-camt")
def import_camt(files: list[pathlib.Path]) -> None:
    """Import camt.054 files (re-importing a file changes nothing)."""
    from noxus.billing.camt import CamtError
    from noxus.billing.payments import import_camt054

    with _session() as s:
        for f in files:
            try:
                r = import_camt054(s, f.read_bytes(), actor="cli")
            except (CamtError, OSError) as exc:
                console.print(f"[red]{f}: {exc}[/red]")
                s.rollback()
                continue
            s.commit()
            console.print(f"{f}: {r.new} new ({r.matched} matched, {r.unmatched} unmatched), "
                          f"{r.duplicates} already imported, {len(r.skipped)} skipped")


@app.command("send")
def send() -> None:
    """Send the e-mails waiting in the outbox (retries with backoff)."""
    from noxus.core.outbox import deliver

    with _session() as s:
        console.print(f"{deliver(s, get_settings())} e-mails sent")


@app.command("daily")
def daily(loop: bool = typer.Option(False, help="stay running and repeat every hour")) -> None:
    """What the scheduler runs: on the 1st the monthly run, every day dunning, then the outbox."""
    while True:
        today = _today()
        if today.day == 1:
            run(period=f"{today:%Y-%m}", no_documents=False)
        dunning_cmd(today=today.isoformat())
        send()
        if not loop:
            return
        time.sleep(3600)  # all steps are idempotent: hourly repeats only retry the outbox
