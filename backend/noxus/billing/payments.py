"""Payments: manual entry and camt.054 import, deduplicated on the bank's reference, matched to
invoices by QRR/SCOR reference. Partial payments leave the invoice open with its balance;
over-payments pay it and keep the rest as the customer's credit; anything that does not match
waits in the unmatched queue for staff."""

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from noxus.billing import audit, camt
from noxus.billing.invoices import transition
from noxus.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from noxus.billing.references import normalize


class PaymentError(ValueError):
    pass


@dataclass
class ImportResult:
    new: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    skipped: list[str] = field(default_factory=list)  # debits, pending entries, other currencies


def invoice_for_reference(session: Session, reference: str | None) -> Invoice | None:
    ref = normalize(reference)
    if ref is None:
        return None
    return session.exec(
        select(Invoice).where(Invoice.reference == ref, Invoice.kind == InvoiceKind.INVOICE)
    ).first()


def apply(session: Session, payment: Payment, invoice: Invoice, actor: str = "system") -> None:
    """Allocate the payment to the invoice (fees included in its balance)."""
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        payment.invoice_id, payment.status = invoice.id, "matched"
        payment.applied, payment.unapplied = 0, payment.amount
        payment.note = f"invoice {invoice.number} is {invoice.status}: the whole amount is a credit"
        session.add(payment)
        return
    applied = max(0, min(payment.amount, invoice.balance))
    payment.invoice_id, payment.status = invoice.id, "matched"
    payment.applied, payment.unapplied = applied, payment.amount - applied
    invoice.amount_paid += applied
    session.add_all([payment, invoice])
    audit.record_invoice(
        session,
        "payment.applied",
        invoice,
        actor=actor,
        payment_id=payment.id,
        amount=payment.amount,
        applied=applied,
        unapplied=payment.unapplied,
        balance=invoice.balance,
    )
    if invoice.status == InvoiceStatus.OPEN and invoice.balance <= 0:
        invoice.paid_on = payment.value_date
        transition(session, invoice, InvoiceStatus.PAID, actor, payment_id=payment.id)
    from noxus.billing.dunning import refresh_customer  # late: dunning imports this module

    refresh_customer(session, invoice.customer_id, payment.value_date, actor=actor)


def record(
    session: Session,
    *,
    bank_ref: str,
    amount: int,
    value_date: date,
    source: str,
    reference: str | None = None,
    debtor_name: str | None = None,
    currency: str = "CHF",
    invoice_id: int | None = None,
    note: str | None = None,
    actor: str = "system",
) -> Payment | None:
    """Store one payment and match it; None when the bank reference was already imported."""
    if amount <= 0:
        raise PaymentError(f"payment amount must be positive, got {amount} centimes")
    if session.exec(select(Payment.id).where(Payment.bank_ref == bank_ref)).first() is not None:
        return None
    payment = Payment(
        bank_ref=bank_ref,
        source=source,
        amount=amount,
        currency=currency,
        value_date=value_date,
        reference=reference,
        debtor_name=debtor_name,
        unapplied=amount,
        note=note,
    )
    session.add(payment)
    session.flush()
    audit.record(
        session,
        "payment.received",
        actor=actor,
        payment_id=payment.id,
        amount=amount,
        bank_ref=bank_ref,
        reference=reference,
    )
    invoice = session.get(Invoice, invoice_id) if invoice_id else invoice_for_reference(session, reference)
    if invoice is not None and currency == "CHF":
        apply(session, payment, invoice, actor)
    return payment


def import_camt054(session: Session, xml: bytes, actor: str = "system") -> ImportResult:
    """Import a camt.054 file; re-importing the same file changes nothing. The caller commits."""
    result = ImportResult()
    for tx in camt.parse(xml):
        if not tx.credit or not tx.booked:
            result.skipped.append(f"{tx.bank_ref}: {'not booked' if tx.credit else 'debit'}")
            continue
        payment = record(
            session,
            bank_ref=tx.bank_ref,
            amount=tx.amount,
            value_date=tx.value_date,
            source="camt054",
            reference=tx.reference,
            debtor_name=tx.debtor_name,
            currency=tx.currency,
            note=tx.unstructured,
            actor=actor,
        )
        if payment is None:
            result.duplicates += 1
            continue
        result.new += 1
        if payment.status == "matched":
            result.matched += 1
        else:
            result.unmatched += 1
    return result


def assign(session: Session, payment_id: int, invoice_id: int, actor: str) -> Payment:
    """Staff match an unmatched payment to an invoice by hand."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != "unmatched":
        raise PaymentError(f"payment {payment_id} is not in the unmatched queue")
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.kind != InvoiceKind.INVOICE:
        raise PaymentError(f"invoice {invoice_id} does not exist")
    apply(session, payment, invoice, actor)
    return payment


def unmatched(session: Session) -> list[Payment]:
    return list(
        session.exec(select(Payment).where(col(Payment.status) == "unmatched").order_by(col(Payment.id)))
    )


@dataclass
class Suggestion:
    invoice: Invoice
    score: int
    reasons: list[str]


def _words(text: str | None) -> set[str]:
    import re

    return {w for w in re.findall(r"[a-z0-9àâäéèêëïîôöùûüç]+", (text or "").casefold()) if len(w) > 2} - {
        "sa",
        "sàrl",
        "sarl",
        "gmbh",
        "ag",
        "the",
    }


def suggestions(session: Session, payment_id: int, limit: int = 5) -> list[Suggestion]:
    """Invoices an unmatched credit probably pays, best first (docs/billing.md, "Matching"):
    reference (QRR/SCOR, also when typed into the remittance text) 100, invoice number in the
    remittance text 60, amount = balance 40 (= total 30), debtor name like the billing name 20."""
    from noxus.billing.models import BillingProfile

    payment = session.get(Payment, payment_id)
    if payment is None:
        raise PaymentError(f"payment {payment_id} does not exist")
    text = f"{payment.note or ''} {payment.reference or ''}"
    compact = "".join(text.split()).upper()
    debtor = _words(payment.debtor_name)
    names = dict(session.exec(select(BillingProfile.customer_id, BillingProfile.legal_name)).all())
    out = []
    for inv in session.exec(
        select(Invoice).where(Invoice.kind == InvoiceKind.INVOICE, Invoice.status == InvoiceStatus.OPEN)
    ):
        score, reasons = 0, []
        if inv.reference and (normalize(payment.reference) == inv.reference or inv.reference in compact):
            score += 100
            reasons.append("reference")
        if inv.number and inv.number in text:
            score += 60
            reasons.append("invoice number in the remittance text")
        if payment.amount == inv.balance:
            score += 40
            reasons.append("amount = balance")
        elif payment.amount == inv.total:
            score += 30
            reasons.append("amount = invoice total")
        if debtor and debtor & _words(names.get(inv.customer_id)):
            score += 20
            reasons.append("debtor name")
        if score:
            out.append(Suggestion(inv, score, reasons))
    out.sort(key=lambda s: (-s.score, s.invoice.due_date, s.invoice.id))
    return out[:limit]
