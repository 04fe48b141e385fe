"""Invoices: pricing a draft, finalizing it (gapless number in the same transaction),
crediting it. A finalized invoice never changes: corrections are credit notes or lines on a
later invoice."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from noxus.billing import audit
from noxus.billing.models import (
    INVOICE_TRANSITIONS,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    NumberSequence,
)
from noxus.billing.money import totals
from noxus.billing.references import reference_for
from noxus.core.i18n import gettext as _
from noxus.core.i18n import use_language
from noxus.core.types import id_of, utcnow

NUMBER_PREFIX = {InvoiceKind.INVOICE: "", InvoiceKind.CREDIT_NOTE: "NC-"}


class InvoiceStateError(ValueError):
    pass


@dataclass
class Charge:
    """A priced line before it is stored."""

    kind: str
    description: str
    quantity: str
    unit_price: int
    amount: int
    vat_rate_bp: int | None
    service_start: date | None = None
    service_end: date | None = None


def transition(session: Session, invoice: Invoice, to: InvoiceStatus, actor: str, **detail) -> None:
    current = InvoiceStatus(invoice.status)
    if to not in INVOICE_TRANSITIONS[current]:
        raise InvoiceStateError(
            f"invoice {invoice.number or invoice.id} is {current.value}; it cannot become {to.value}"
        )
    invoice.status = to
    session.add(invoice)
    audit.record_invoice(session, f"invoice.{to.value}", invoice, actor=actor, **detail)


def create_draft(
    session: Session,
    *,
    customer_id: int,
    charges: list[Charge],
    issue_date: date,
    payment_days: int,
    language: str = "fr",
    contract_id: int | None = None,
    run_key: str | None = None,
    period: date | None = None,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    credited_invoice_id: int | None = None,
    actor: str = "system",
) -> Invoice:
    """Store a draft with its lines; VAT once per rate on the subtotal, rounding as its own line."""
    t = totals((c.amount, c.vat_rate_bp) for c in charges)
    invoice = Invoice(
        kind=kind,
        customer_id=customer_id,
        contract_id=contract_id,
        run_key=run_key,
        period=period,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=payment_days),
        language=language,
        subtotal=t.subtotal,
        vat_total=t.vat_total,
        rounding=t.rounding,
        total=t.total,
        vat_breakdown=[list(v) for v in t.vat],
        credited_invoice_id=credited_invoice_id,
    )
    session.add(invoice)
    session.flush()
    if t.rounding:
        with use_language(language):
            charges = [*charges, Charge(LineKind.ROUNDING, _("Rounding"), "1", t.rounding, t.rounding, None)]
    for pos, c in enumerate(charges, 1):
        session.add(
            InvoiceLine(
                invoice_id=id_of(invoice),
                position=pos,
                kind=c.kind,
                description=c.description,
                quantity=c.quantity,
                unit_price=c.unit_price,
                amount=c.amount,
                vat_rate_bp=c.vat_rate_bp,
                service_start=c.service_start,
                service_end=c.service_end,
            )
        )
    audit.record(
        session,
        "invoice.draft",
        actor=actor,
        customer_id=customer_id,
        invoice_id=invoice.id,
        total=t.total,
        run_key=run_key,
    )
    return invoice


def _upsert_sequence(session: Session, name: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(NumberSequence).values(name=name, last_value=0).on_conflict_do_nothing())


def next_numbers(session: Session, name: str, n: int) -> list[int]:
    """`n` consecutive values of a gapless counter with one UPDATE, inside the caller's
    transaction. The row stays locked (PostgreSQL row lock, SQLite write lock) until commit;
    a rollback returns the numbers."""
    if n <= 0:
        return []
    _upsert_sequence(session, name)
    last = session.execute(
        update(NumberSequence)
        .where(col(NumberSequence.name) == name)
        .values(last_value=NumberSequence.last_value + n)
        .returning(col(NumberSequence.last_value))
    ).scalar_one()
    return list(range(last - n + 1, last + 1))


def invoice_numbers(session: Session, kind: str, year: int, n: int) -> list[str]:
    """The next `n` numbers of `kind` (invoice or credit note) in `year`, formatted; gapless
    (`next_numbers`)."""
    return [format_number(kind, year, v) for v in next_numbers(session, f"{kind}-{year}", n)]


def format_number(kind: str, year: int, value: int) -> str:
    return f"{NUMBER_PREFIX[InvoiceKind(kind)]}{year}-{value:06d}"


def finalize(
    session: Session, invoice_id: int, *, iban: str, actor: str = "system", now: datetime | None = None
) -> Invoice:
    """draft -> open: number and payment reference assigned in this transaction.

    The draft is claimed with a conditional UPDATE first, so a concurrent finalizer of the same
    invoice updates 0 rows and stops before it takes a number; the caller commits."""
    claimed = session.exec(  # sqlmodel's exec types an UPDATE's result (rowcount)
        update(Invoice)
        .where(col(Invoice.id) == invoice_id, col(Invoice.status) == InvoiceStatus.DRAFT)
        .values(status=InvoiceStatus.OPEN, finalized_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise InvoiceStateError(f"invoice {invoice_id} is not a draft (already finalized or unknown)")
    invoice = session.exec(
        select(Invoice).where(Invoice.id == invoice_id).execution_options(populate_existing=True)
    ).one()
    invoice.number = invoice_numbers(session, invoice.kind, invoice.issue_date.year, 1)[0]
    if invoice.kind == InvoiceKind.INVOICE:
        invoice.reference = reference_for(invoice, iban)
    session.add(invoice)
    session.flush()
    audit.record_invoice(
        session,
        "invoice.open",
        invoice,
        actor=actor,
        number=invoice.number,
        total=invoice.total,
    )
    return invoice


def prepaid_lines_after(session: Session, contract_id: int, day: date) -> list[tuple[InvoiceLine, Invoice]]:
    """The subscription and kiosk lines of the contract's open or paid invoices whose service
    runs past `day` (what the customer paid in advance for after it), with their invoice."""
    return list(
        session.exec(
            select(InvoiceLine, Invoice)
            .join(Invoice, col(Invoice.id) == col(InvoiceLine.invoice_id))
            .where(
                Invoice.contract_id == contract_id,
                Invoice.kind == InvoiceKind.INVOICE,
                col(Invoice.status).in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]),
                col(InvoiceLine.kind).in_([LineKind.SUBSCRIPTION, LineKind.KIOSK]),
                col(InvoiceLine.service_end) > day,
            )
        ).all()
    )


def lines_of(session: Session, invoice_id: int) -> list[InvoiceLine]:
    return list(
        session.exec(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.position))
        )
    )


def credit(
    session: Session,
    invoice: Invoice,
    *,
    issue_date: date,
    iban: str,
    reason: str,
    charges: list[Charge] | None = None,
    actor: str = "system",
) -> Invoice:
    """A finalized credit note against `invoice`. Without `charges` it credits every line and
    the invoice becomes void (if still open); partial credits (pro-rata refunds) leave it as is."""
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID) or invoice.kind != InvoiceKind.INVOICE:
        raise InvoiceStateError(
            f"only an open or paid invoice can be credited; {invoice.number or invoice.id} "
            f"is {invoice.status}"
        )
    full = charges is None
    if charges is None:
        with use_language(invoice.language):
            cancel = _("Cancellation")
        charges = [
            Charge(
                LineKind.CREDIT,
                f"{cancel}: {ln.description}"[:300],
                ln.quantity,
                -ln.unit_price,
                -ln.amount,
                ln.vat_rate_bp,
                ln.service_start,
                ln.service_end,
            )
            for ln in lines_of(session, id_of(invoice))
            if ln.kind != LineKind.ROUNDING
        ]
    note = create_draft(
        session,
        customer_id=invoice.customer_id,
        charges=charges,
        issue_date=issue_date,
        payment_days=0,
        language=invoice.language,
        contract_id=invoice.contract_id,
        kind=InvoiceKind.CREDIT_NOTE,
        credited_invoice_id=invoice.id,
        actor=actor,
    )
    finalize(session, id_of(note), iban=iban, actor=actor)
    invoice.amount_credited += -note.total
    if full and invoice.status == InvoiceStatus.OPEN:
        transition(session, invoice, InvoiceStatus.VOID, actor, credit_note=note.number, reason=reason)
    else:
        audit.record_invoice(
            session,
            "invoice.credited",
            invoice,
            actor=actor,
            credit_note=note.number,
            amount=-note.total,
            reason=reason,
        )
    session.add(invoice)
    return note


def credit_amount(
    session: Session,
    invoice: Invoice,
    amount: int,
    *,
    issue_date: date,
    iban: str,
    reason: str,
    actor: str = "system",
) -> Invoice:
    """A partial credit note of `amount` centimes, VAT included, against an issued invoice: one
    credit line at the invoice's main VAT rate (the rate of its largest base); net = amount /
    (1 + rate), rounded to the centime, so the note's total is -amount within the CHF 0.05 rounding."""
    if amount <= 0:
        raise InvoiceStateError(
            f"a credit note amount must be more than CHF 0.00 (got {amount / 100:.2f}); "
            "a credit note always reduces what the customer owes"
        )
    creditable = invoice.total - invoice.amount_credited
    if amount > creditable:
        raise InvoiceStateError(
            f"invoice {invoice.number} can be credited at most CHF {creditable / 100:.2f} "
            f"more; {amount / 100:.2f} asked"
        )
    from decimal import Decimal

    from noxus.billing.money import round_centimes

    rate = max(invoice.vat_breakdown or [[None, 0, 0]], key=lambda v: v[1])[0]
    net = round_centimes(Decimal(amount) * 10000 / (10000 + (rate or 0)))
    with use_language(invoice.language):
        label = _("Partial credit: %(reason)s", reason=reason)
    charge = Charge(LineKind.CREDIT, label[:300], "1", -net, -net, rate)
    return credit(
        session, invoice, issue_date=issue_date, iban=iban, reason=reason, charges=[charge], actor=actor
    )
