"""Billing's documents (every PDF billing produced, kept as sent) and their e-mails, which go
through the outbox of `noxus.core.outbox` (one outbox for every context)."""

from sqlmodel import Session

from noxus.billing.models import Document
from noxus.core import outbox
from noxus.core.outbox import OutboxMail

ATTACHMENT_KIND = "billing_document"


def store_document(
    session: Session,
    *,
    kind: str,
    customer_id: int,
    filename: str,
    pdf: bytes,
    invoice_id: int | None = None,
    reminder_id: int | None = None,
    case_id: int | None = None,
) -> Document:
    doc = Document(
        kind=kind,
        customer_id=customer_id,
        filename=filename,
        pdf=pdf,
        invoice_id=invoice_id,
        reminder_id=reminder_id,
        case_id=case_id,
    )
    session.add(doc)
    session.flush()
    return doc


def enqueue(
    session: Session, to_addr: str, subject: str, body: str, document: Document | None = None
) -> OutboxMail:
    """Queue a mail carrying `document` (if any) in the caller's transaction."""
    return outbox.enqueue(
        session,
        to_addr,
        subject,
        body,
        f"{ATTACHMENT_KIND}:{document.id}" if document is not None else None,
        category=document.kind if document is not None else "billing",
        customer_id=document.customer_id if document is not None else None,
    )


def _load(session: Session, doc_id: int) -> outbox.Attachment | None:
    doc = session.get(Document, doc_id)
    return (doc.filename, doc.pdf, "application", "pdf") if doc is not None else None


outbox.register_attachment(ATTACHMENT_KIND, _load)
