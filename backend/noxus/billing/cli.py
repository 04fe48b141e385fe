"""`noxus billing ...`: the same operations as the staff pages and the API — the monthly run
(drafts), review and issue, dunning, credit notes, camt.054 import, the outbox, and `daily` (what a
scheduler — cron or a systemd timer — runs every morning). Dates are today in the company zone; a
back-dated dunning needs --reason; a future date is refused."""

import pathlib
import time
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import col

from noxus.core.db import new_session
from noxus.core.settings import get_settings
from noxus.core.types import stored_ids

app = typer.Typer(help="Billing: invoices, payments, dunning, retrieval", no_args_is_help=True)
console = Console()


def _today() -> date:
    from noxus.billing.dates import company_today

    return company_today(get_settings())


def _check_config() -> None:
    from noxus.billing.config import problems

    found = problems(get_settings())
    if found:
        for p in found:
            console.print(f"[red]{p}[/red]")
        raise typer.Exit(2)


def _month(period: str | None) -> date:
    try:
        return date.fromisoformat(f"{period}-01") if period else _today().replace(day=1)
    except ValueError:
        console.print(f"[red]period {period!r} must look like 2026-03[/red]")
        raise typer.Exit(2) from None


@app.command("run")
def run(
    period: str = typer.Option(None, help="month to invoice, YYYY-MM (default: the current month)"),
) -> None:
    """Draft every contract's invoice for a month (idempotent: a re-run creates nothing). Review
    with `noxus billing drafts`, then `noxus billing issue`."""
    from noxus.billing.run import run_month

    day = _month(period)
    with new_session() as s:
        r = run_month(s, day, get_settings(), actor="cli")
    console.print(
        f"{day:%Y-%m}: {len(r.created)} drafts created, {r.existing} already invoiced, "
        f"{r.nothing_due} with nothing due"
    )
    for err in r.errors:
        console.print(f"[red]{err}[/red]")


@app.command("drafts")
def drafts_cmd(period: str = typer.Option(None, help="YYYY-MM (default: every draft)")) -> None:
    """Preview the drafts waiting for review: totals per customer and for the run."""
    from noxus.billing.drafts import preview
    from noxus.core.i18n import format_chf

    with new_session() as s:
        p = preview(s, _month(period) if period else None)
    for c in p.customers:
        console.print(f"customer {c.customer_id}: {c.drafts} draft(s), total {format_chf(c.total)}")
    console.print(
        f"{p.drafts} drafts, net {format_chf(p.subtotal)}, VAT {format_chf(p.vat_total)}, "
        f"total {format_chf(p.total)}"
    )


@app.command("issue")
def issue_cmd(
    period: str = typer.Option(None, help="issue every draft of this run month, YYYY-MM"),
    invoice: Annotated[list[int] | None, typer.Option(help="issue these drafts (ids)")] = None,
    yes: bool = typer.Option(False, "--yes", help="do it (else: a dry run)"),
) -> None:
    """Issue drafts today: number, issue and due date, PDF, e-mail to the customer."""
    from sqlmodel import select

    from noxus.billing.issuing import issue_drafts
    from noxus.billing.models import Invoice, InvoiceStatus

    _check_config()
    with new_session() as s:
        q = select(col(Invoice.id)).where(Invoice.status == InvoiceStatus.DRAFT)
        if invoice:
            q = q.where(col(Invoice.id).in_(invoice))
        elif period:
            q = q.where(Invoice.period == _month(period))
        ids = stored_ids(s.exec(q))
        if not yes:
            console.print(f"{len(ids)} drafts would be issued and e-mailed today; add --yes to do it")
            return
        issued = issue_drafts(s, ids, get_settings(), _today(), actor="cli")
        s.commit()
    console.print(f"{len(issued)} invoices issued")


@app.command("dunning")
def dunning_cmd(
    day: str = typer.Option(None, "--date", help="YYYY-MM-DD, default today; earlier needs --reason"),
    reason: str = typer.Option(None, help="why the dunning is back-dated"),
    yes: bool = typer.Option(False, "--yes", help="do it (without it: only list the reminders due)"),
) -> None:
    """Reminders, suspensions and §7.6 retrieval flags due today."""
    from noxus.billing.dates import BusinessDateError
    from noxus.billing.dunning import due_reminders, run_dunning

    when = date.fromisoformat(day) if day else None
    with new_session() as s:
        if not yes:
            due = due_reminders(s, when or _today(), get_settings())
            for inv, level in due:
                console.print(f"invoice {inv.number}: reminder {level}")
            console.print(f"{len(due)} reminders due; add --yes to send them")
            return
        try:
            r = run_dunning(s, when, get_settings(), actor="cli", reason=reason)
        except BusinessDateError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    console.print(
        f"{len(r.reminders)} reminders, {len(r.suspended)} suspended, "
        f"{len(r.retrieval_cases)} retrieval cases, {len(r.cleared)} cleared"
    )


@app.command("credit")
def credit_cmd(
    number: str,
    reason: str = typer.Option(..., help="why (printed on the credit note)"),
    amount: str = typer.Option(None, help="CHF, VAT included, e.g. 120.50 (default: the whole invoice)"),
    yes: bool = typer.Option(False, "--yes"),
) -> None:
    """Issue a credit note (full or partial) against an issued invoice."""
    from sqlmodel import select

    from noxus.billing.dunning import refresh_customer
    from noxus.billing.invoices import InvoiceStateError, credit, credit_amount
    from noxus.billing.issuing import issue
    from noxus.billing.models import Invoice
    from noxus.billing.schemas import parse_chf

    settings = get_settings()
    with new_session() as s:
        inv = s.exec(select(Invoice).where(Invoice.number == number)).first()
        if inv is None:
            console.print(f"[red]no invoice numbered {number}[/red]")
            raise typer.Exit(2)
        if not yes:
            console.print(f"a credit note of {amount or 'the whole invoice'} against {number}; add --yes")
            return
        try:
            if amount is None:
                note = credit(
                    s, inv, issue_date=_today(), iban=settings.billing_iban, reason=reason, actor="cli"
                )
            else:
                note = credit_amount(
                    s,
                    inv,
                    parse_chf(amount),
                    issue_date=_today(),
                    iban=settings.billing_iban,
                    reason=reason,
                    actor="cli",
                )
        except (InvoiceStateError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        issue(s, note, settings, "cli")
        refresh_customer(s, inv.customer_id, _today(), settings, "cli")
        s.commit()
        console.print(f"credit note {note.number} issued")


@app.command("import-camt")
def import_camt(files: list[pathlib.Path]) -> None:
    """Import camt.054 files (re-importing a file changes nothing)."""
    from noxus.billing.camt import CamtError
    from noxus.billing.payments import import_camt054

    with new_session() as s:
        for f in files:
            try:
                r = import_camt054(s, f.read_bytes(), actor="cli")
            except (CamtError, OSError) as exc:
                console.print(f"[red]{f}: {exc}[/red]")
                s.rollback()
                continue
            s.commit()
            console.print(
                f"{f}: {r.new} new ({r.matched} matched, {r.unmatched} unmatched), "
                f"{r.duplicates} already imported, {len(r.skipped)} skipped"
            )


@app.command("send")
def send() -> None:
    """Send the e-mails waiting in the outbox (retries with backoff; safe in several processes)."""
    from noxus.core.outbox import deliver

    with new_session() as s:
        console.print(f"{deliver(s, get_settings())} e-mails sent")


@app.command("daily")
def daily(loop: bool = typer.Option(False, help="stay running and repeat every hour")) -> None:
    """What the scheduler runs, any day: the monthly runs missing in the catch-up window (a failed
    or missed 1st included), the automatic issue after the grace period, dunning, then the outbox.
    Every step is idempotent."""
    from noxus.billing.dunning import run_dunning
    from noxus.billing.issuing import auto_issue
    from noxus.billing.run import catch_up

    _check_config()
    while True:
        settings = get_settings()
        with new_session() as s:
            created = sum(len(r.created) for r in catch_up(s, settings, actor="scheduler"))
            issued = auto_issue(s, settings, _today(), actor="scheduler")
            r = run_dunning(s, None, settings, actor="scheduler")
        console.print(f"{created} drafts, {len(issued)} issued, {len(r.reminders)} reminders")
        send()
        if not loop:
            return
        time.sleep(3600)  # all steps are idempotent: hourly repeats only retry the outbox
