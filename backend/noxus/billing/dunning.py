"""Dunning (§7.1-7.3, §7.6) as configurable policy (NOXUS_BILLING_* settings):

- due date = invoice date + 10 days; from the next day the customer is in default (overdue),
  without any reminder;
- reminder level n when the invoice is `billing_reminder_days[n-1]` days past due, one level per
  run, each with a fee (CHF 20) and late interest (5 %/year, actual/365, on the unpaid invoice
  amount since the due date or the previous reminder), as a PDF + e-mail;
- suspension when an invoice reaches `billing_suspend_at_level` (kiosks keep recording, no data
  is dropped; `noxus.billing.restrictions()` tells other contexts what is blocked, from the
  standing derived at read time in `state.py`);
- §7.6 retrieval when a subscription / additional-users invoice is two months past due;
- a payment that leaves nothing past due clears it all (state back to good, case cancelled).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from noxus.billing import audit, documents, outbox, retrieval
from noxus.billing.issuing import profile_of
from noxus.billing.models import BillingProfile, Invoice, InvoiceKind, InvoiceStatus, OverdueState, Reminder
from noxus.billing.money import round_centimes
from noxus.billing.run import add_months
from noxus.core.settings import Settings, get_settings
from noxus.core.types import id_of, utcnow


@dataclass
class DunningResult:
    reminders: list[int] = field(default_factory=list)  # reminder ids
    suspended: list[int] = field(default_factory=list)  # customer ids
    retrieval_cases: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


def late_interest(principal: int, rate_bp: int, start: date, end: date) -> int:
    days = max(0, (end - start).days)
    return round_centimes(Decimal(principal) * rate_bp * days / (10000 * 365))


def _open_past_due(today: date) -> SelectOfScalar[Invoice]:
    """Open invoices (credit notes are not dunned) past their due date on `today`."""
    return select(Invoice).where(
        Invoice.kind == InvoiceKind.INVOICE,
        Invoice.status == InvoiceStatus.OPEN,
        Invoice.due_date < today,
    )


def _past_due(session: Session, customer_id: int, today: date) -> list[Invoice]:
    """The customer's, oldest due first."""
    return list(
        session.exec(
            _open_past_due(today).where(Invoice.customer_id == customer_id).order_by(col(Invoice.due_date))
        )
    )


def _next_level(invoice: Invoice, today: date, settings: Settings) -> int | None:
    """The reminder level due for the invoice on `today` (`billing_reminder_days` after its due
    date), or None."""
    days = settings.billing_reminder_days
    if invoice.reminder_level < len(days) and (today - invoice.due_date).days >= days[invoice.reminder_level]:
        return invoice.reminder_level + 1
    return None


def issue_reminder(
    session: Session, invoice: Invoice, today: date, settings: Settings, actor: str = "system"
) -> Reminder:
    level = invoice.reminder_level + 1
    previous = session.exec(
        select(Reminder).where(col(Reminder.invoice_id) == invoice.id).order_by(col(Reminder.level).desc())
    ).first()
    principal = invoice.total - invoice.amount_paid - invoice.amount_credited
    since = previous.issued_on if previous else invoice.due_date
    interest = late_interest(max(principal, 0), settings.billing_late_interest_bp, since, today)
    fee = settings.billing_reminder_fee_centimes
    invoice.fees_charged += fee + interest
    invoice.reminder_level = level
    reminder = Reminder(
        invoice_id=id_of(invoice),
        level=level,
        issued_on=today,
        fee=fee,
        interest=interest,
        amount_due=invoice.balance,
    )
    session.add_all([invoice, reminder])
    session.flush()
    history = session.exec(
        select(Reminder).where(col(Reminder.invoice_id) == invoice.id).order_by(col(Reminder.level))
    ).all()
    profile = profile_of(session, invoice.customer_id)
    pay_by = today + timedelta(days=settings.billing_payment_days)
    pdf = documents.reminder_pdf(
        invoice,
        profile,
        settings,
        level=level,
        issued_on=today,
        fees=[(r.level, r.fee, r.interest) for r in history],
        amount_due=invoice.balance,
        pay_by=pay_by,
    )
    doc = outbox.store_document(
        session,
        kind="reminder",
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        reminder_id=reminder.id,
        filename=documents.file_name("reminder", level, invoice.number, language=invoice.language),
        pdf=pdf,
    )
    subject, body = documents.reminder_mail(invoice, level, pay_by, settings)
    outbox.enqueue(session, profile.invoice_email, subject, body, doc)
    audit.record_invoice(
        session,
        "invoice.reminded",
        invoice,
        actor=actor,
        level=level,
        fee=fee,
        interest=interest,
        amount_due=invoice.balance,
    )
    return reminder


def _set_state(
    session: Session, profile: BillingProfile, state: OverdueState, today: date, actor: str, **detail
) -> None:
    if profile.overdue_state == state:
        return
    previous = profile.overdue_state
    profile.overdue_state = state
    if state == OverdueState.GOOD:
        profile.overdue_since = None
    if state in (OverdueState.GOOD, OverdueState.OVERDUE):
        profile.suspended_at, profile.suspension_reason = None, None
    elif profile.overdue_since is None:
        profile.overdue_since = today
    if state == OverdueState.SUSPENDED and profile.suspended_at is None:
        profile.suspended_at = utcnow()
    session.add(profile)
    audit.record(
        session,
        f"customer.{state.value}",
        actor=actor,
        customer_id=profile.customer_id,
        previous=previous,
        **detail,
    )


def refresh_customer(
    session: Session,
    customer_id: int,
    today: date,
    settings: Settings | None = None,
    actor: str = "system",
    result: DunningResult | None = None,
) -> OverdueState:
    """Recompute a customer's overdue state from its invoices (after a run, a payment, a credit)."""
    settings = settings or get_settings()
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        return OverdueState.GOOD
    past_due = _past_due(session, customer_id, today)
    if not past_due:
        retrieval.cancel_if_paid(session, customer_id, actor)
        if profile.overdue_state != OverdueState.GOOD:
            _set_state(session, profile, OverdueState.GOOD, today, actor, reason="nothing past due")
            if result is not None:
                result.cleared.append(customer_id)
        return OverdueState.GOOD
    state = OverdueState.OVERDUE
    level = max(i.reminder_level for i in past_due)
    if settings.billing_suspend_at_level and level >= settings.billing_suspend_at_level:
        state = OverdueState.SUSPENDED
        profile.suspension_reason = (
            f"invoice {past_due[0].number} unpaid after {level} reminders "
            f"(restricts: {', '.join(settings.billing_suspend_restricts)})"
        )
    long_due = [
        i
        for i in past_due
        if i.period is not None and today >= add_months(i.due_date, settings.billing_retrieval_after_months)
    ]
    if long_due:
        state = OverdueState.RETRIEVAL
        if retrieval.open_case(session, customer_id) is None:
            case = retrieval.flag_unpaid(session, customer_id, today, past_due, settings, actor)
            if result is not None:
                result.retrieval_cases.append(id_of(case))
    if state in (OverdueState.SUSPENDED, OverdueState.RETRIEVAL) and profile.suspended_at is None:
        if result is not None:
            result.suspended.append(customer_id)
        profile.suspended_at = utcnow()
        audit.record(
            session,
            "customer.suspension_started",
            actor=actor,
            customer_id=customer_id,
            reason=profile.suspension_reason,
        )
    _set_state(session, profile, state, today, actor, reminder_level=level)
    return state


def due_reminders(session: Session, today: date, settings: Settings) -> list[tuple[Invoice, int]]:
    """What dunning on `today` would do, without doing it: (invoice, next level) pairs."""
    due = []
    for inv in session.exec(_open_past_due(today).order_by(col(Invoice.id))):
        level = _next_level(inv, today, settings)
        if level is not None:
            due.append((inv, level))
    return due


def run_dunning(
    session: Session, today: date | None, settings: Settings, actor: str = "system", reason: str | None = None
) -> DunningResult:
    """The daily dunning job: next reminder level where due, then every affected customer's state.
    Idempotent for a given day (a level is issued once per invoice: unique (invoice, level)).
    `today` None is today in the company zone; a future date is refused and an earlier one needs
    a reason (billing.dates.action_date), before anything changes."""
    from noxus.billing.dates import action_date

    today = action_date(session, "dunning", today, reason=reason, actor=actor, settings=settings)
    result = DunningResult()
    open_invoices = session.exec(_open_past_due(today).order_by(col(Invoice.id))).all()
    customers = set()
    for invoice in open_invoices:
        customers.add(invoice.customer_id)
        if _next_level(invoice, today, settings) is not None:
            result.reminders.append(id_of(issue_reminder(session, invoice, today, settings, actor)))
    flagged = session.exec(
        select(BillingProfile.customer_id).where(BillingProfile.overdue_state != OverdueState.GOOD)
    ).all()
    for customer_id in sorted(customers | set(flagged)):
        refresh_customer(session, customer_id, today, settings, actor, result)
    session.commit()
    return result
