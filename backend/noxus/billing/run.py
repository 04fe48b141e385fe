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

from sqlalchemy import false, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, or_, select

from noxus.billing import issuing
from noxus.billing.invoices import Charge, create_draft
from noxus.billing.models import (
    BillingProfile,
    Contract,
    ContractKiosk,
    Invoice,
    LineKind,
    NumberSequence,
    UsageSnapshot,
)
from noxus.billing.money import prorate, vat_rate_bp
from noxus.billing.pricing import PricingError, prices_on
from noxus.core.i18n import format_month, use_language
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings
from noxus.tenancy.service import customer_language

log = logging.getLogger(__name__)

# meter(session, customer_id, year, month, mode) -> active users (noxus.hr.metering.active_users)
Meter = Callable[..., int]


def hr_meter(session: Session, customer_id: int, year: int, month: int, mode: str = "punched") -> int:
    from noxus.hr.metering import active_users

    return active_users(session, customer_id, year, month, mode=mode)


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
    return format_month(day.year, day.month)


@dataclass
class RunResult:
    period: date
    created: list[int] = field(default_factory=list)  # invoice ids
    existing: int = 0  # contracts already invoiced for the period
    nothing_due: int = 0
    errors: list[str] = field(default_factory=list)


def kiosks_attached(session: Session, contract_id: int, start: date, end: date) -> int:
    return session.exec(
        select(func.count())
        .select_from(ContractKiosk)
        .where(
            ContractKiosk.contract_id == contract_id,
            ContractKiosk.attached_on <= end,
            or_(ContractKiosk.detached_on.is_(None), ContractKiosk.detached_on >= start),
        )
    ).one()


def _subscription(session: Session, contract: Contract, until: date) -> list[Charge]:
    """In advance: every day from the last billed day (or the start) to `until`, month by month,
    partial months pro rata temporis (days / days in month)."""
    charges: list[Charge] = []
    start = contract.billed_through + timedelta(days=1) if contract.billed_through else contract.start_date
    if contract.end_date:
        until = min(until, contract.end_date)
    while start <= until:
        end = min(month_end(start), until)
        days, dim = (end - start).days + 1, calendar.monthrange(start.year, start.month)[1]
        qty = "1" if days == dim else str((Decimal(days) / dim).quantize(Decimal("0.0001")))
        p = prices_on(session, contract, start)
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
        n = kiosks_attached(session, contract.id, start, end)
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
        contract.billed_through = end
        start = end + timedelta(days=1)
    return charges


def _active_in(contract: Contract, start: date, end: date) -> bool:
    return contract.start_date <= end and (contract.end_date is None or contract.end_date >= start)


def _usage(
    session: Session,
    contract: Contract,
    period: date,
    meter: Meter,
    lookback: int,
    snapshots: list[UsageSnapshot],
) -> list[Charge]:
    """Additional users for the month before `period` (first snapshot), then adjustments for
    earlier snapshotted months whose count changed since (late punches)."""
    charges: list[Charge] = []
    for back in range(lookback + 1, 0, -1):  # oldest first
        month = add_months(period, -back)
        if not _active_in(contract, month, month_end(month)):
            continue
        last = session.exec(
            select(UsageSnapshot)
            .where(UsageSnapshot.contract_id == contract.id, UsageSnapshot.month == month)
            .order_by(UsageSnapshot.id.desc())
            .limit(1)
        ).first()
        if last is None and back != 1:
            continue  # never snapshotted (before the contract was billed): nothing to adjust
        p = prices_on(session, contract, month)
        users = meter(session, contract.customer_id, month.year, month.month, contract.metering_mode)
        additional = max(0, users - p.users_included)
        previous = last.billed_additional_users if last else 0
        delta = additional - previous
        if last is not None and users == last.active_users:
            continue
        snap = UsageSnapshot(
            contract_id=contract.id, month=month, active_users=users, billed_additional_users=additional
        )
        session.add(snap)
        snapshots.append(snap)
        if delta == 0:
            continue
        rate = vat_rate_bp(month)
        if last is None:
            charges.append(
                Charge(
                    LineKind.ADDITIONAL_USERS,
                    _(
                        "Additional users, %(month)s (%(users)s active, %(included)s included)",
                        month=month_label(month),
                        users=users,
                        included=p.users_included,
                    ),
                    str(delta),
                    p.price_per_additional_user,
                    delta * p.price_per_additional_user,
                    rate,
                    month,
                    month_end(month),
                )
            )
        else:
            charges.append(
                Charge(
                    LineKind.USAGE_ADJUSTMENT,
                    _(
                        "User adjustment, %(month)s (%(before)s → %(after)s active)",
                        month=month_label(month),
                        before=last.active_users,
                        after=users,
                    ),
                    str(delta),
                    p.price_per_additional_user,
                    delta * p.price_per_additional_user,
                    rate,
                    month,
                    month_end(month),
                )
            )
    return charges


def contract_charges(
    session: Session,
    contract: Contract,
    period: date,
    issue_date: date,
    meter: Meter,
    lookback: int,
    snapshots: list[UsageSnapshot] | None = None,
) -> list[Charge]:
    charges = _usage(session, contract, period, meter, lookback, snapshots if snapshots is not None else [])
    if contract.start_date <= month_end(period):
        charges = _subscription(session, contract, month_end(period)) + charges
        if not contract.setup_invoiced:
            p = prices_on(session, contract, contract.start_date)
            if p.setup_fee:
                charges.insert(
                    0,
                    Charge(
                        LineKind.SETUP,
                        _("Set-up fee"),
                        "1",
                        p.setup_fee,
                        p.setup_fee,
                        vat_rate_bp(issue_date),
                    ),
                )
            contract.setup_invoiced = True
    return charges


def _open_write_transaction(session: Session) -> None:
    """pysqlite only sends BEGIN before INSERT/UPDATE/DELETE: a SAVEPOINT issued first would be
    the outermost transaction and its RELEASE a COMMIT (an fsync per contract). A no-op UPDATE
    makes the driver open the real transaction first, so a batch commits once."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(NumberSequence).where(false()).values(last_value=NumberSequence.last_value))


def run_month(
    session: Session,
    period: date,
    settings: Settings,
    *,
    today: date | None = None,
    meter: Meter = hr_meter,
    issue: bool = False,
    actor: str = "system",
    commit_every: int = 200,
    customer_ids: list[int] | None = None,
    issue_documents: bool = True,
) -> RunResult:
    """Draft an invoice for every contract for `period` (any day of the month). Commits as it goes;
    safe to re-run and to run concurrently (the unique run_key decides). `issue`: issue each draft
    at once, dated `today` (default: today in the company zone)."""
    from noxus.billing.dates import company_today

    period = month_start(period)
    today = today or company_today(settings)
    result = RunResult(period)
    horizon = add_months(period, -(settings.billing_usage_lookback_months + 1))
    q = select(Contract.id).where(
        Contract.start_date <= month_end(period),
        or_(Contract.end_date.is_(None), Contract.end_date >= horizon),
    )
    if customer_ids is not None:
        q = q.where(Contract.customer_id.in_(customer_ids))
    contract_ids = session.exec(q.order_by(Contract.id)).all()
    done_keys = set(session.exec(select(Invoice.run_key).where(Invoice.period == period)).all())
    pending = 0
    _open_write_transaction(session)
    for cid in contract_ids:
        run_key = f"{cid}:{period:%Y-%m}"
        if run_key in done_keys:
            result.existing += 1
            continue
        contract = session.get(Contract, cid)
        profile = session.exec(
            select(BillingProfile).where(BillingProfile.customer_id == contract.customer_id)
        ).first()
        if profile is None:
            result.errors.append(
                f"customer {contract.customer_id} has no billing profile: "
                "enter its billing address before the run"
            )
            continue
        language = customer_language(session, contract.customer_id) or profile.language
        try:
            with session.begin_nested(), use_language(language):
                prior = (contract.billed_through, contract.setup_invoiced)
                snapshots: list[UsageSnapshot] = []
                charges = contract_charges(
                    session, contract, period, today, meter, settings.billing_usage_lookback_months, snapshots
                )
                if not charges:
                    result.nothing_due += 1
                    session.add(contract)
                    continue
                invoice = create_draft(
                    session,
                    customer_id=contract.customer_id,
                    charges=charges,
                    issue_date=today,
                    payment_days=settings.billing_payment_days,
                    language=language,
                    contract_id=contract.id,
                    run_key=run_key,
                    period=period,
                    actor=actor,
                )
                invoice.prior_billed_through, invoice.consumed_setup = (
                    prior[0],
                    not prior[1] and contract.setup_invoiced,
                )
                for snap in snapshots:
                    snap.invoice_id = invoice.id
                session.add(contract)
                session.flush()
                if issue:
                    issuing.issue_draft(
                        session, invoice.id, settings, today, actor, documents=issue_documents
                    )
                result.created.append(invoice.id)
        except IntegrityError:
            # another run created this contract's invoice for the period first
            session.expire(contract)
            result.existing += 1
            continue
        except PricingError as exc:
            session.expire(contract)
            result.errors.append(f"contract {cid}: {exc}")
            continue
        pending += 1
        if pending >= commit_every:
            session.commit()
            pending = 0
            _open_write_transaction(session)
    session.commit()
    log.info(
        "invoice run %s: %d created, %d existing, %d errors",
        period,
        len(result.created),
        result.existing,
        len(result.errors),
    )
    return result


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
