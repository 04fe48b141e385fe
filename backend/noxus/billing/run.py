"""The monthly invoice run (Lago's "billing run"): for each contract and month, one **draft**
invoice with the subscription in advance for the coming month, additional users in arrears for the
past month, adjustments for punches that arrived after an earlier snapshot, and the set-up fee once.
The clerk reviews the drafts and issues them (`issuing.issue_drafts`: number, issue date, PDF,
e-mail); `issue=True` issues at once (the automatic issue of the daily job).

Idempotent: the invoice's run_key "<contract>:<YYYY-MM>" is unique, a re-run creates nothing.
`catch_up` runs every month of the catch-up window in order, so a day the job did not run (or
failed) is invoiced by the next run.
"""

import calendar
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import ColumnElement, String, and_, cast, exists, false, insert, update
from sqlalchemy import select as sa_select  # sqlmodel's select is typed for at most four columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from noxus.billing import audit, issuing
from noxus.billing.invoices import Charge, invoice_numbers
from noxus.billing.models import (
    BillingProfile,
    Contract,
    ContractKiosk,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    UsageSnapshot,
)
from noxus.billing.money import prorate, totals, vat_rate_bp
from noxus.billing.pricing import PriceBook, PricingError
from noxus.billing.references import reference_of
from noxus.core.db import reserve_ids
from noxus.core.i18n import current_language, format_month, use_language
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings
from noxus.core.types import utcnow
from noxus.tenancy.service import customer_languages

log = logging.getLogger(__name__)

# meter(session, customer_ids, year, month, mode) -> {customer_id: active users}, every customer
# asked for in the answer (noxus.hr.metering.active_users_by_customer): one call per month and
# metering mode for the whole run.
Meter = Callable[[Session, list[int], int, int, str], dict[int, int]]


def hr_meter(
    session: Session, customer_ids: list[int], year: int, month: int, mode: str = "punched"
) -> dict[int, int]:
    from noxus.hr.metering import active_users_by_customer

    return active_users_by_customer(session, customer_ids, year, month, mode)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, n: int) -> date:
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_label(day: date) -> str:
    """`janvier 2026`, `Januar 2026`: in the language being written (the customer's)."""
    return _month_label(current_language(), day.year, day.month)


@lru_cache(maxsize=512)
def _month_label(language: str, year: int, month: int) -> str:
    return format_month(year, month)  # Babel is slow: a run writes the same few months 10 000 times


@dataclass
class RunResult:
    period: date
    created: list[int] = field(default_factory=list)  # invoice ids
    existing: int = 0  # contracts already invoiced for the period
    nothing_due: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Contract:
    """What the run reads of a contract (a row, not an ORM object: 10 000 of them)."""

    id: int
    customer_id: int
    plan_id: int
    start_date: date
    end_date: date | None
    billed_through: date | None
    setup_invoiced: bool
    metering_mode: str


@dataclass
class _Snapshot:
    id: int
    active_users: int
    billed_additional_users: int


@dataclass
class _Draft:
    """One contract's month, computed: its charges and what it consumes."""

    contract: _Contract
    language: str
    charges: list[Charge]
    billed_through: date | None
    setup_invoiced: bool
    snapshots: list[dict]


class _Facts:
    """Everything the run needs, loaded with a few set-based queries for every contract of the
    run at once (never per contract)."""

    def __init__(self, session: Session, scope: ColumnElement[bool], period: date, lookback: int) -> None:
        ids = select(col(Contract.id)).where(scope)
        customers = select(Contract.customer_id).where(scope)
        self.prices = PriceBook(session, ids)
        self.profile_language: dict[int, str] = dict(
            session.execute(
                select(BillingProfile.customer_id, BillingProfile.language).where(
                    col(BillingProfile.customer_id).in_(customers)
                )
            ).all()
        )
        self.customer_language = customer_languages(session, customers)
        self.kiosks: dict[int, list[tuple[date, date | None]]] = {}
        for cid, attached, detached in session.execute(
            select(
                col(ContractKiosk.contract_id), col(ContractKiosk.attached_on), col(ContractKiosk.detached_on)
            ).where(col(ContractKiosk.contract_id).in_(ids), ContractKiosk.attached_on <= month_end(period))
        ):
            self.kiosks.setdefault(cid, []).append((attached, detached))
        # the last snapshot of each contract and month that a late punch may still adjust
        self.snapshots: dict[tuple[int, date], _Snapshot] = {}
        for cid, month, sid, users, billed in session.execute(
            sa_select(
                col(UsageSnapshot.contract_id),
                col(UsageSnapshot.month),
                col(UsageSnapshot.id),
                col(UsageSnapshot.active_users),
                col(UsageSnapshot.billed_additional_users),
            ).where(
                col(UsageSnapshot.contract_id).in_(ids),
                col(UsageSnapshot.month) >= add_months(period, -(lookback + 1)),
                col(UsageSnapshot.month) < period,
            )
        ):
            last = self.snapshots.get((cid, month))
            if last is None or sid > last.id:
                self.snapshots[(cid, month)] = _Snapshot(sid, users, billed)
        self.users: dict[tuple[date, str], dict[int, int]] = {}

    def kiosks_attached(self, contract_id: int, start: date, end: date) -> int:
        return sum(
            1
            for attached, detached in self.kiosks.get(contract_id, ())
            if attached <= end and (detached is None or detached >= start)
        )


def _active_in(contract: _Contract, start: date, end: date) -> bool:
    return contract.start_date <= end and (contract.end_date is None or contract.end_date >= start)


def _metered_months(contract: _Contract, period: date, lookback: int, facts: _Facts):
    """(month, last snapshot) of the months whose users this contract's invoice counts: the
    month before `period` (first snapshot), then earlier snapshotted months (adjustments)."""
    for back in range(lookback + 1, 0, -1):  # oldest first
        month = add_months(period, -back)
        if not _active_in(contract, month, month_end(month)):
            continue
        last = facts.snapshots.get((contract.id, month))
        if last is None and back != 1:
            continue  # never snapshotted (before the contract was billed): nothing to adjust
        yield month, last


def _usage(
    contract: _Contract, period: date, lookback: int, facts: _Facts, snapshots: list[dict]
) -> list[Charge]:
    """Additional users for the month before `period` (first snapshot), then adjustments for
    earlier snapshotted months whose count changed since (late punches)."""
    charges: list[Charge] = []
    for month, last in _metered_months(contract, period, lookback, facts):
        p = facts.prices.on(contract.plan_id, contract.id, month)
        users = facts.users[(month, contract.metering_mode)].get(contract.customer_id, 0)
        additional = max(0, users - p.users_included)
        previous = last.billed_additional_users if last else 0
        delta = additional - previous
        if last is not None and users == last.active_users:
            continue
        snapshots.append(
            {
                "contract_id": contract.id,
                "month": month,
                "active_users": users,
                "billed_additional_users": additional,
            }
        )
        if delta == 0:
            continue
        rate = vat_rate_bp(month)
        if last is None:
            label = _(
                "Additional users, %(month)s (%(users)s active, %(included)s included)",
                month=month_label(month),
                users=users,
                included=p.users_included,
            )
            kind = LineKind.ADDITIONAL_USERS
        else:
            label = _(
                "User adjustment, %(month)s (%(before)s → %(after)s active)",
                month=month_label(month),
                before=last.active_users,
                after=users,
            )
            kind = LineKind.USAGE_ADJUSTMENT
        charges.append(
            Charge(
                kind,
                label,
                str(delta),
                p.price_per_additional_user,
                delta * p.price_per_additional_user,
                rate,
                month,
                month_end(month),
            )
        )
    return charges


def _subscription(contract: _Contract, until: date, facts: _Facts) -> tuple[list[Charge], date | None]:
    """In advance: every day from the last billed day (or the start) to `until`, month by month,
    partial months pro rata temporis (days / days in month). Returns the charges and the new
    last billed day."""
    charges: list[Charge] = []
    billed_through = contract.billed_through
    start = billed_through + timedelta(days=1) if billed_through else contract.start_date
    if contract.end_date:
        until = min(until, contract.end_date)
    while start <= until:
        end = min(month_end(start), until)
        days, dim = (end - start).days + 1, calendar.monthrange(start.year, start.month)[1]
        qty = "1" if days == dim else str((Decimal(days) / dim).quantize(Decimal("0.0001")))
        p = facts.prices.on(contract.plan_id, contract.id, start)
        rate = vat_rate_bp(start)
        label = month_label(start) if days == dim else f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"
        if p.monthly_fee:
            amount = prorate(p.monthly_fee, days, dim)
            charges.append(
                Charge(
                    LineKind.SUBSCRIPTION,
                    _("NoxusTime subscription, %(period)s", period=label),
                    qty,
                    p.monthly_fee,
                    amount,
                    rate,
                    start,
                    end,
                )
            )
        n = facts.kiosks_attached(contract.id, start, end)
        if p.monthly_fee_per_kiosk and n:
            unit = prorate(p.monthly_fee_per_kiosk, days, dim)
            charges.append(
                Charge(
                    LineKind.KIOSK,
                    _("NoxusTime kiosks (%(n)s), %(period)s", n=n, period=label),
                    str(n),
                    unit,
                    unit * n,
                    rate,
                    start,
                    end,
                )
            )
        billed_through = end
        start = end + timedelta(days=1)
    return charges, billed_through


def _draft(
    contract: _Contract, language: str, period: date, today: date, lookback: int, facts: _Facts
) -> _Draft:
    """One contract's charges for `period` in the customer's language; pure (raises
    PricingError before anything is written)."""
    with use_language(language):
        snapshots: list[dict] = []
        charges = _usage(contract, period, lookback, facts, snapshots)
        billed_through, setup_invoiced = contract.billed_through, contract.setup_invoiced
        if contract.start_date <= month_end(period):
            subscription, billed_through = _subscription(contract, month_end(period), facts)
            charges = subscription + charges
            if not setup_invoiced:
                p = facts.prices.on(contract.plan_id, contract.id, contract.start_date)
                if p.setup_fee:
                    charges.insert(
                        0,
                        Charge(
                            LineKind.SETUP, _("Set-up fee"), "1", p.setup_fee, p.setup_fee, vat_rate_bp(today)
                        ),
                    )
                setup_invoiced = True
        if charges:
            t = totals((c.amount, c.vat_rate_bp) for c in charges)
            if t.rounding:
                charges.append(Charge(LineKind.ROUNDING, _("Rounding"), "1", t.rounding, t.rounding, None))
    return _Draft(contract, language, charges, billed_through, setup_invoiced, snapshots)


def _open_write_transaction(session: Session) -> None:
    """pysqlite only sends BEGIN before INSERT/UPDATE/DELETE. A no-op UPDATE makes the driver
    open the real transaction, and takes SQLite's write lock, before the ids of the batch are
    reserved (noxus.core.db.reserve_ids)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Invoice).where(false()).values(id=Invoice.id))


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write(
    session: Session,
    batch: list[_Draft],
    period: date,
    today: date,
    settings: Settings,
    issue: bool,
    actor: str,
) -> list[int]:
    """Store a batch of computed contracts with one INSERT per table (invoices already numbered
    when `issue`), one UPDATE per distinct contract state and one audit append. The caller commits."""
    _open_write_transaction(session)
    audit.lock_chain(session)  # before the number sequence's row lock, as audit.record then finalize
    billed = [d for d in batch if d.charges]
    ids = reserve_ids(session, Invoice.__tablename__, len(billed))
    numbers = invoice_numbers(session, InvoiceKind.INVOICE, today.year, len(billed)) if issue else []
    now = utcnow()
    due = today + timedelta(days=settings.billing_payment_days)
    invoices, lines, snaps, entries = [], [], [], []
    for n, (invoice_id, d) in enumerate(zip(ids, billed, strict=True)):
        c = d.contract
        t = totals((ch.amount, ch.vat_rate_bp) for ch in d.charges if ch.kind != LineKind.ROUNDING)
        run_key = f"{c.id}:{period:%Y-%m}"
        number = numbers[n] if issue else None
        invoices.append(
            {
                "id": invoice_id,
                "kind": InvoiceKind.INVOICE.value,
                "status": (InvoiceStatus.OPEN if issue else InvoiceStatus.DRAFT).value,
                "customer_id": c.customer_id,
                "contract_id": c.id,
                "run_key": run_key,
                "period": period,
                "number": number,
                "issue_date": today,
                "due_date": due,
                "language": d.language,
                "subtotal": t.subtotal,
                "vat_total": t.vat_total,
                "rounding": t.rounding,
                "total": t.total,
                "amount_paid": 0,
                "amount_credited": 0,
                "fees_charged": 0,
                "reference": reference_of(c.customer_id, invoice_id, settings.billing_iban)
                if issue
                else None,
                "credited_invoice_id": None,
                "vat_breakdown": [list(v) for v in t.vat],
                "reminder_level": 0,
                "prior_billed_through": c.billed_through,
                "consumed_setup": not c.setup_invoiced and d.setup_invoiced,
                "created_at": now,
                "finalized_at": now if issue else None,
                "paid_on": None,
            }
        )
        for pos, ch in enumerate(d.charges, 1):
            lines.append(
                {
                    "invoice_id": invoice_id,
                    "position": pos,
                    "kind": str(ch.kind),
                    "description": ch.description,
                    "quantity": ch.quantity,
                    "unit_price": ch.unit_price,
                    "amount": ch.amount,
                    "vat_rate_bp": ch.vat_rate_bp,
                    "service_start": ch.service_start,
                    "service_end": ch.service_end,
                }
            )
        entries.append(
            audit.entry(
                "invoice.draft",
                actor=actor,
                customer_id=c.customer_id,
                invoice_id=invoice_id,
                total=t.total,
                run_key=run_key,
            )
        )
        if issue:
            entries.append(
                audit.entry(
                    "invoice.open",
                    actor=actor,
                    customer_id=c.customer_id,
                    invoice_id=invoice_id,
                    number=number,
                    total=t.total,
                )
            )
    # a contract with nothing due keeps its snapshots too (invoice None): a late punch that
    # later brings it above the users included is then an adjustment, as before
    invoice_of = {id(d): invoice_id for invoice_id, d in zip(ids, billed, strict=True)}
    for d in batch:
        snaps += [{**snap, "invoice_id": invoice_of.get(id(d)), "taken_at": now} for snap in d.snapshots]
    # Core inserts of the tables (one executemany each); SQLModel's stubs do not declare the
    # `__table__` its metaclass sets, hence the ignores
    if invoices:
        session.execute(insert(Invoice.__table__), invoices)  # type: ignore[attr-defined]
        session.execute(insert(InvoiceLine.__table__), lines)  # type: ignore[attr-defined]
    if snaps:
        session.execute(insert(UsageSnapshot.__table__), snaps)  # type: ignore[attr-defined]
    # contracts whose state moved, grouped by their new state: a monthly run has one or two groups
    states: dict[tuple[date | None, bool], list[int]] = {}
    for d in batch:
        if (d.billed_through, d.setup_invoiced) != (d.contract.billed_through, d.contract.setup_invoiced):
            states.setdefault((d.billed_through, d.setup_invoiced), []).append(d.contract.id)
    for (billed_through, setup_invoiced), cids in states.items():
        for chunk in _chunks(cids, 2000):
            session.execute(
                update(Contract)
                .where(col(Contract.id).in_(chunk))
                .values(billed_through=billed_through, setup_invoiced=setup_invoiced)
                .execution_options(synchronize_session=False)
            )
    audit.record_many(session, entries)
    return ids


def run_month(
    session: Session,
    period: date,
    settings: Settings,
    *,
    today: date | None = None,
    meter: Meter = hr_meter,
    issue: bool = False,
    actor: str = "system",
    commit_every: int = 2000,
    customer_ids: list[int] | None = None,
    issue_documents: bool = True,
) -> RunResult:
    """Draft an invoice for every contract for `period` (any day of the month). Commits every
    `commit_every` contracts; safe to re-run and to run concurrently (the unique run_key decides:
    a batch another run invoiced first is rolled back and the run starts again from what is
    done). `issue`: issue each draft at once, dated `today` (default: today in the company zone).

    Set-based (docs/billing.md, "Benchmark"): one SELECT finds the contracts not yet invoiced
    for the period — a re-run stops there —, a few more load prices, profiles, languages,
    kiosks, snapshots and metering for all of them; the invoices are computed in Python and
    written with one INSERT per table and batch."""
    from noxus.billing.dates import company_today

    period = month_start(period)
    today = today or company_today(settings)
    result = RunResult(period)
    for _attempt in range(10):
        try:
            _run(
                session,
                period,
                today,
                settings,
                meter,
                issue,
                actor,
                commit_every,
                customer_ids,
                issue_documents,
                result,
            )
            break
        except IntegrityError:
            # another run invoiced some of this batch's contracts first: start again from what is
            # done now (numbers and ids of the batch are given back by the rollback)
            session.rollback()
    else:
        raise RuntimeError(
            f"invoice run {period}: other runs kept invoicing the same contracts; run it again"
        )
    log.info(
        "invoice run %s: %d created, %d existing, %d errors",
        period,
        len(result.created),
        result.existing,
        len(result.errors),
    )
    return result


def _run(
    session: Session,
    period: date,
    today: date,
    settings: Settings,
    meter: Meter,
    issue: bool,
    actor: str,
    commit_every: int,
    customer_ids: list[int] | None,
    issue_documents: bool,
    result: RunResult,
) -> None:
    session.flush()
    result.errors, result.nothing_due = [], 0  # counted again by this attempt
    lookback = settings.billing_usage_lookback_months
    horizon = add_months(period, -(lookback + 1))
    scope = and_(
        col(Contract.start_date) <= month_end(period),
        or_(col(Contract.end_date).is_(None), col(Contract.end_date) >= horizon),
    )
    if customer_ids is not None:
        scope = and_(scope, col(Contract.customer_id).in_(customer_ids))
    done = exists().where(col(Invoice.run_key) == cast(Contract.id, String) + f":{period:%Y-%m}")
    rows = session.execute(
        sa_select(
            col(Contract.id),
            col(Contract.customer_id),
            col(Contract.plan_id),
            col(Contract.start_date),
            col(Contract.end_date),
            col(Contract.billed_through),
            col(Contract.setup_invoiced),
            col(Contract.metering_mode),
            done,
        )
        .where(scope)
        .order_by(col(Contract.id))
    ).all()
    pending = [_Contract(*r[:8]) for r in rows if not r[8]]
    result.existing = len(rows) - len(pending) - len(result.created)
    if not pending:
        session.commit()
        return
    facts = _Facts(session, scope, period, lookback)
    todo: list[tuple[_Contract, str]] = []
    for c in pending:
        profile_language = facts.profile_language.get(c.customer_id)
        if profile_language is None:
            result.errors.append(
                f"customer {c.customer_id} has no billing profile: enter its billing address before the run"
            )
            continue
        todo.append((c, facts.customer_language.get(c.customer_id) or profile_language))
    # one meter call per month and mode, for every customer whose invoice counts that month
    wanted: dict[tuple[date, str], set[int]] = {}
    for c, _lang in todo:
        for month, _last in _metered_months(c, period, lookback, facts):
            wanted.setdefault((month, c.metering_mode), set()).add(c.customer_id)
    for (month, mode), cids in sorted(wanted.items()):
        facts.users[(month, mode)] = meter(session, sorted(cids), month.year, month.month, mode)
    session.commit()  # ends the read transaction (SQLite: writes must not start from an old snapshot)
    computed: list[_Draft] = []
    for c, lang in todo:
        try:
            computed.append(_draft(c, lang, period, today, lookback, facts))
        except PricingError as exc:
            result.errors.append(f"contract {c.id}: {exc}")
    result.nothing_due += sum(1 for d in computed if not d.charges)
    for batch in _chunks(computed, max(1, commit_every)):
        ids = _write(session, batch, period, today, settings, issue, actor)
        if issue and issue_documents:
            for invoice_id in ids:
                issuing.issue(session, session.get_one(Invoice, invoice_id), settings, actor)
        session.commit()
        result.created += ids


def catch_up(
    session: Session,
    settings: Settings,
    *,
    today: date | None = None,
    meter: Meter = hr_meter,
    actor: str = "system",
    issue_documents: bool = True,
) -> list[RunResult]:
    """What the daily job runs: every month of the catch-up window up to today's, oldest first.
    Months already invoiced cost one SELECT each; a month missed (host down, a failed run) is
    invoiced now. Drafts are issued at once when `billing_auto_issue_days` is 0."""
    from noxus.billing.dates import company_today

    today = today or company_today(settings)
    first = add_months(month_start(today), -max(0, settings.billing_catch_up_months))
    results = []
    month = first
    while month <= today:
        results.append(
            run_month(
                session,
                month,
                settings,
                today=today,
                meter=meter,
                actor=actor,
                issue=settings.billing_auto_issue_days == 0,
                issue_documents=issue_documents,
            )
        )
        month = add_months(month, 1)
    return results
