"""Turning a finalized invoice into what the customer receives: the PDF (stored) and the e-mail
(through the outbox)."""

from sqlmodel import Session, select

from noxus.billing import audit, documents, outbox
from noxus.billing.invoices import lines_of
from noxus.billing.models import BillingProfile, Document, Invoice, InvoiceKind
from noxus.billing.money import chf
from noxus.core.settings import Settings

SUBJECT = {"fr": "{title} {number} — NoxusTime", "de": "{title} {number} — NoxusTime",
           "en": "{title} {number} — NoxusTime"}
BODY = {
    "fr": "Madame, Monsieur,\n\nVeuillez trouver ci-joint {title_l} {number} du {date} d'un montant de CHF "
          "{total}, payable jusqu'au {due}.\n\nMeilleures salutations\n{creditor}\n",
    "de": "Sehr geehrte Damen und Herren\n\nIm Anhang finden Sie {title_l} {number} vom {date} über CHF {total}, "
          "zahlbar bis {due}.\n\nFreundliche Grüsse\n{creditor}\n",
    "en": "Dear customer,\n\nPlease find attached {title_l} {number} of {date} for CHF {total}, payable by "
          "{due}.\n\nKind regards\n{creditor}\n",
}
ARTICLE = {"fr": {"invoice": "la facture", "credit_note": "la note de crédit"},
           "de": {"invoice": "die Rechnung", "credit_note": "die Gutschrift"},
           "en": {"invoice": "invoice", "credit_note": "credit note"}}


def profile_of(session: Session, customer_id: int) -> BillingProfile:
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        raise ValueError(f"customer {customer_id} has no billing profile: enter its billing address first")
    return profile


def render_invoice(session: Session, invoice: Invoice, settings: Settings) -> bytes:
    credited = session.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    return documents.invoice_pdf(invoice, lines_of(session, invoice.id), profile_of(session, invoice.customer_id),
                                 settings, credited_number=credited.number if credited else None)


def issue(session: Session, invoice: Invoice, settings: Settings, actor: str = "system") -> Document:
    """Store the PDF of a finalized invoice and queue its e-mail; once per invoice."""
    if invoice.number is None:
        raise ValueError(f"invoice {invoice.id} is a draft: finalize it before sending it")
    kind = "credit_note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice"
    existing = session.exec(select(Document).where(Document.invoice_id == invoice.id,
                                                   Document.kind == kind)).first()
    if existing is not None:
        return existing
    profile = profile_of(session, invoice.customer_id)
    pdf = render_invoice(session, invoice, settings)
    doc = outbox.store_document(session, kind=kind, customer_id=invoice.customer_id, invoice_id=invoice.id,
                                filename=f"{kind}-{invoice.number}.pdf", pdf=pdf)
    lang = invoice.language if invoice.language in BODY else "fr"
    title = documents.labels(lang)[kind]
    outbox.enqueue(session, profile.invoice_email,
                   SUBJECT[lang].format(title=title, number=invoice.number),
                   BODY[lang].format(title_l=ARTICLE[lang][kind], number=invoice.number,
                                     date=documents.fmt_date(invoice.issue_date), total=chf(invoice.total),
                                     due=documents.fmt_date(invoice.due_date),
                                     creditor=settings.billing_creditor_name), doc)
    audit.record(session, "invoice.sent", actor=actor, customer_id=invoice.customer_id, invoice_id=invoice.id,
                 document_id=doc.id, to=profile.invoice_email)
    return doc
