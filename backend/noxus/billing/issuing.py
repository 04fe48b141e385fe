"""Turning a finalized invoice into what the customer receives: the PDF (stored) and the e-mail
(through the outbox)."""

from datetime import date, timedelta

from sqlmodel import Session, col, select

from noxus.billing import audit, documents, outbox
from noxus.billing.invoices import InvoiceStateError, finalize, lines_of
from noxus.billing.models import BillingProfile, Document, Invoice, InvoiceKind, InvoiceStatus
from noxus.core.settings import Settings
from noxus.core.types import id_of, stored_ids


def profile_of(session: Session, customer_id: int) -> BillingProfile:
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        raise ValueError(f"customer {customer_id} has no billing profile: enter its billing address first")
    return profile


def render_invoice(session: Session, invoice: Invoice, settings: Settings) -> bytes:
    credited = session.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    assert invoice.id is not None, "a stored invoice"
    return documents.invoice_pdf(
        invoice,
        lines_of(session, invoice.id),
        profile_of(session, invoice.customer_id),
        settings,
        credited_number=credited.number if credited else None,
    )


def issue_draft(
    session: Session,
    invoice_id: int,
    settings: Settings,
    today: date,
    actor: str = "system",
    documents: bool = True,
) -> Invoice:
    """draft -> open, dated `today`: issue date today, due date from it, the next gapless number,
    then (documents) the PDF and the e-mail. The caller commits."""
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise InvoiceStateError(f"invoice {invoice_id} does not exist")
    if inv.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(f"invoice {inv.number} is already issued ({inv.status})")
    days = 0 if inv.kind == InvoiceKind.CREDIT_NOTE else settings.billing_payment_days
    inv.issue_date, inv.due_date = today, today + timedelta(days=days)
    session.add(inv)
    session.flush()
    inv = finalize(session, id_of(inv), iban=settings.billing_iban, actor=actor)
    if documents:
        issue(session, inv, settings, actor)
    return inv


def issue_drafts(
    session: Session,
    invoice_ids: list[int],
    settings: Settings,
    today: date,
    actor: str = "system",
    documents: bool = True,
) -> list[Invoice]:
    """Issue several drafts in one transaction, in id order (numbers follow that order)."""
    return [issue_draft(session, i, settings, today, actor, documents) for i in sorted(invoice_ids)]


def auto_issue(session: Session, settings: Settings, today: date, actor: str = "system") -> list[Invoice]:
    """The daily job: drafts of a run older than `billing_auto_issue_days` are issued today."""
    if settings.billing_auto_issue_days is None:
        return []
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    cutoff = datetime.combine(
        today - timedelta(days=settings.billing_auto_issue_days), time.max, ZoneInfo(settings.timezone)
    ).astimezone(UTC)
    ids = session.exec(
        select(Invoice.id).where(
            col(Invoice.status) == InvoiceStatus.DRAFT,
            col(Invoice.run_key).is_not(None),
            col(Invoice.created_at) <= cutoff,
        )
    ).all()
    issued = issue_drafts(session, stored_ids(ids), settings, today, actor)
    session.commit()
    return issued


def issue(session: Session, invoice: Invoice, settings: Settings, actor: str = "system") -> Document:
    """Store the PDF of a finalized invoice and queue its e-mail; once per invoice."""
    if invoice.number is None:
        raise ValueError(f"invoice {invoice.id} is a draft: finalize it before sending it")
    kind = "credit_note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice"
    existing = session.exec(
        select(Document).where(Document.invoice_id == invoice.id, Document.kind == kind)
    ).first()
    if existing is not None:
        return existing
    profile = profile_of(session, invoice.customer_id)
    pdf = render_invoice(session, invoice, settings)
    doc = outbox.store_document(
        session,
        kind=kind,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        filename=documents.file_name(kind, invoice.number, language=invoice.language),
        pdf=pdf,
    )
    subject, body = documents.invoice_mail(invoice, settings)
    outbox.enqueue(session, profile.invoice_email, subject, body, doc)
    audit.record_invoice(
        session,
        "invoice.sent",
        invoice,
        actor=actor,
        document_id=doc.id,
        to=profile.invoice_email,
    )
    return doc
