"""E-mail through an outbox, for every context (invoices, reminders, §7.6 notices, user
invitations, breach notices): a mail is stored in the same transaction as the business step that
sends it, then `deliver` (CLI/scheduler) sends it with retries and exponential backoff, so an SMTP
outage never loses a business step.

No mail goes out twice from two deliverers: a deliverer first *claims* due rows in a short
transaction of its own — `SELECT … FOR UPDATE SKIP LOCKED` inside an `UPDATE … RETURNING` on
PostgreSQL (a concurrent deliverer skips the rows another is claiming instead of waiting for
them), a single atomic `UPDATE … RETURNING` on SQLite (writers are serialized, so the second
deliverer's UPDATE sees the rows already `sending`) — commits the claim, then talks to SMTP. A
claim is a lease (`LEASE_S`): a deliverer that died after claiming leaves rows `sending` that
another takes over once the lease has run out (at most once more: the Message-ID stays the same,
so a receiving server can deduplicate).

Attachments are not copied into the outbox: a mail names one by reference (`"<kind>:<id>"`) and
the context that owns the document registers a loader for its kind (`register_attachment`).

An invitation's one-time link sets a password: whoever reads it owns the account, and billing
staff, who read the outbox, may not invite NOXUS staff. So staff pages show mails `redacted`, and a
mail's stored body loses the link once it went out: the token is in the database only while its
mail waits (docs/security.md "Invitations").
"""

import logging
import re
import smtplib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from noxus.core import tls
from noxus.core.settings import Settings
from noxus.core.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # then "failed": staff see it on the outbox page and may retry it
BACKOFF_BASE_S = 60  # 1, 2, 4 ... minutes between attempts
LEASE_S = 600  # a claim older than this (deliverer died mid-send) may be taken over
CLAIM_BATCH = 20  # rows claimed per short claim transaction
_ONE_TIME_LINK = re.compile(r"(/invitation/)[A-Za-z0-9_-]+")  # noxus.auth.invitations' links


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a deliverer (lease until claimed_until)
    SENT = "sent"
    FAILED = "failed"  # MAX_ATTEMPTS reached; retry() queues it again
    CANCELLED = "cancelled"


class OutboxMail(SQLModel, table=True):
    """An e-mail waiting to go out (or gone out): the outbox of every context."""

    __tablename__ = "outbox_mail"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(default="", max_length=32, index=True)  # invoice, reminder, notice, invitation…
    customer_id: int | None = Field(
        default=None, index=True
    )  # for filtering only (no FK: core knows no context)
    to_addr: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str
    attachment: str | None = Field(default=None, max_length=64)  # "<kind>:<id>", see register_attachment
    status: str = Field(default=MailStatus.QUEUED, max_length=10, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxError(ValueError):
    pass


# (filename, content, maintype, subtype)
Attachment = tuple[str, bytes, str, str]
_loaders: dict[str, Callable[[Session, int], Attachment | None]] = {}


def register_attachment(kind: str, loader: Callable[[Session, int], Attachment | None]) -> None:
    """A context tells the outbox how to load its documents: loader(session, id)."""
    _loaders[kind] = loader


def load_attachment(session: Session, ref: str) -> Attachment | None:
    kind, _, ident = ref.partition(":")
    loader = _loaders.get(kind)
    if loader is None:
        raise OutboxError(f"no attachment loader for {kind!r}: import the context that registers it")
    return loader(session, int(ident))


def enqueue(
    session: Session,
    to_addr: str,
    subject: str,
    body: str,
    attachment: str | None = None,
    *,
    category: str = "",
    customer_id: int | None = None,
) -> OutboxMail:
    """Store a mail in the caller's transaction; it goes out once that transaction commits."""
    mail = OutboxMail(
        to_addr=to_addr,
        subject=subject[:200],
        body=body,
        attachment=attachment,
        category=category,
        customer_id=customer_id,
    )
    session.add(mail)
    return mail


def redacted(body: str) -> str:
    """The body without its one-time links' tokens (`/invitation/…`): what staff may read."""
    return _ONE_TIME_LINK.sub(r"\1…", body)


def message(session: Session, mail: OutboxMail, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["Message-ID"] = f"<outbox-{mail.id}@noxus>"  # stable: a retried mail can be deduplicated
    msg.set_content(mail.body)
    if mail.attachment:
        att = load_attachment(session, mail.attachment)
        if att is not None:
            filename, content, maintype, subtype = att
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def claim(session: Session, now: datetime, limit: int = CLAIM_BATCH) -> list[int]:
    """Claim up to `limit` due mails for this deliverer and commit the claim; returns their ids.
    Due: queued and next_attempt_at reached, or sending with an expired lease."""
    token = str(uuid.uuid4())
    due = (
        select(OutboxMail.id)
        .where(
            ((col(OutboxMail.status) == MailStatus.QUEUED) & (col(OutboxMail.next_attempt_at) <= now))
            | ((col(OutboxMail.status) == MailStatus.SENDING) & (col(OutboxMail.claimed_until) < now))
        )
        .order_by(col(OutboxMail.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # The status condition is repeated in the UPDATE: on SQLite it is what makes the claim
    # exclusive (the statement runs under the database write lock).
    stmt = (
        update(OutboxMail)
        .where(
            col(OutboxMail.id).in_(due.scalar_subquery()),
            col(OutboxMail.status).in_([MailStatus.QUEUED, MailStatus.SENDING]),
        )
        .values(status=MailStatus.SENDING, claim_token=token, claimed_until=now + timedelta(seconds=LEASE_S))
        .returning(col(OutboxMail.id))
        .execution_options(synchronize_session=False)
    )
    ids = sorted(session.execute(stmt).scalars().all())
    session.commit()
    return ids


def _smtp_send(settings: Settings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:  # the server's certificate and name verified
            smtp.starttls(context=tls.client_context(settings.smtp_ca_file))
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(msg)


def deliver(session: Session, settings: Settings, now: datetime | None = None, limit: int = 100) -> int:
    """Send due mails; returns how many went out. Safe to run in several processes at once."""
    now = now or utcnow()
    sent = 0
    handled = 0
    while handled < limit:
        ids = claim(session, now, min(CLAIM_BATCH, limit - handled))
        if not ids:
            break
        handled += len(ids)
        for mail_id in ids:
            mail = session.get(OutboxMail, mail_id, populate_existing=True)
            if mail is None:  # claimed ids are committed rows; an outside delete is skipped
                continue
            mail.attempts += 1
            try:
                _smtp_send(settings, message(session, mail, settings))
                mail.status, mail.sent_at, mail.last_error = MailStatus.SENT, now, None
                mail.body = redacted(mail.body)  # a sent mail is never sent again
                sent += 1
            except (OSError, smtplib.SMTPException, OutboxError) as exc:
                mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
                if mail.attempts >= MAX_ATTEMPTS:
                    mail.status = MailStatus.FAILED
                else:
                    mail.status = MailStatus.QUEUED
                    mail.next_attempt_at = now + timedelta(seconds=BACKOFF_BASE_S * 2 ** (mail.attempts - 1))
                log.warning(
                    "mail %s to %s not sent (attempt %d): %s", mail.id, mail.to_addr, mail.attempts, exc
                )
            mail.claim_token, mail.claimed_until = None, None
            session.add(mail)
            session.commit()
    return sent


def cancel(session: Session, mail_id: int, actor: str) -> OutboxMail:
    """A queued or failed mail is not sent; the caller commits."""
    mail = _get(session, mail_id)
    if mail.status not in (MailStatus.QUEUED, MailStatus.FAILED):
        raise OutboxError(f"mail {mail_id} is {mail.status}: only a queued or failed mail can be cancelled")
    mail.status, mail.cancelled_by = MailStatus.CANCELLED, actor[:120]
    session.add(mail)
    return mail


def retry(session: Session, mail_id: int, now: datetime | None = None) -> OutboxMail:
    """A failed (or cancelled) mail goes back into the queue, due now; the caller commits."""
    mail = _get(session, mail_id)
    if mail.status not in (MailStatus.FAILED, MailStatus.CANCELLED):
        raise OutboxError(f"mail {mail_id} is {mail.status}: only a failed or cancelled mail can be retried")
    mail.status, mail.attempts, mail.next_attempt_at = MailStatus.QUEUED, 0, now or utcnow()
    mail.cancelled_by = None
    session.add(mail)
    return mail


def _get(session: Session, mail_id: int) -> OutboxMail:
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise OutboxError(f"mail {mail_id} does not exist")
    return mail
