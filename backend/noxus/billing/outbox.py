"""E-mail through an outbox: a mail is stored in the same transaction as the document it
carries, then sent by `deliver` (CLI/scheduler) with retries and exponential backoff, so an SMTP
outage never loses or duplicates a business step."""

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlmodel import Session, select

from noxus.billing.models import Document, OutboxMail
from noxus.core.settings import Settings
from noxus.core.types import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # then "failed": staff see it on the billing page
BACKOFF_BASE_S = 60  # 1, 2, 4 ... minutes between attempts


def store_document(session: Session, *, kind: str, customer_id: int, filename: str, pdf: bytes,
                   invoice_id: int | None = None, reminder_id: int | None = None,
                   case_id: int | None = None) -> Document:
    doc = Document(kind=kind, customer_id=customer_id, filename=filename, pdf=pdf, invoice_id=invoice_id,
                   reminder_id=reminder_id, case_id=case_id)
    session.add(doc)
    session.flush()
    return doc


def enqueue(session: Session, to_addr: str, subject: str, body: str,
            document: Document | None = None) -> OutboxMail:
    mail = OutboxMail(to_addr=to_addr, subject=subject, body=body,
                      document_id=document.id if document else None)
    session.add(mail)
    return mail


def _message(session: Session, mail: OutboxMail, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["Message-ID"] = f"<billing-outbox-{mail.id}@noxus>"  # stable: a retried mail can be deduplicated
    msg.set_content(mail.body)
    if mail.document_id:
        doc = session.get(Document, mail.document_id)
        msg.add_attachment(doc.pdf, maintype="application", subtype="pdf", filename=doc.filename)
    return msg


def deliver(session: Session, settings: Settings, now: datetime | None = None, limit: int = 100) -> int:
    """Send due mails; returns how many went out. Each mail is committed on its own."""
    now = now or utcnow()
    due = session.exec(select(OutboxMail).where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
                       .order_by(OutboxMail.id).limit(limit)).all()
    sent = 0
    for mail in due:
        mail.attempts += 1
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password or "")
                smtp.send_message(_message(session, mail, settings))
            mail.status, mail.sent_at, mail.last_error = "sent", now, None
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if mail.attempts >= MAX_ATTEMPTS:
                mail.status = "failed"
            else:
                mail.next_attempt_at = now + timedelta(seconds=BACKOFF_BASE_S * 2 ** (mail.attempts - 1))
            log.warning("mail %s to %s not sent (attempt %d): %s", mail.id, mail.to_addr, mail.attempts, exc)
        session.add(mail)
        session.commit()
    return sent
