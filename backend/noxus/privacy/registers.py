"""Data-subject requests (answer within 7 days) and breaches (notify within 72 hours)."""

from datetime import timedelta

from sqlmodel import Session, col, select

from noxus.core import audit
from noxus.core.security import Principal, Scope
from noxus.core.settings import Settings
from noxus.core.types import aware, utcnow
from noxus.privacy.models import (
    Breach,
    BreachCreate,
    BreachPublic,
    DataSubjectRequest,
    DataSubjectRequestCreate,
    DataSubjectRequestPublic,
    DataSubjectRequestUpdate,
)

# nLPD art. 25-32 / GDPR art. 15-21; "restriction": processing limited while a dispute is settled
DSR_KINDS = ("access", "rectification", "erasure", "restriction", "objection", "portability")
DSR_STATUSES = ("open", "in_progress", "done", "refused")
DSR_CLOSED = ("done", "refused")


class PrivacyError(ValueError):
    """A privacy request that cannot be honoured; the message says why."""


class NotFound(PrivacyError):
    pass


def dsr_public(r: DataSubjectRequest) -> DataSubjectRequestPublic:
    overdue = r.status not in DSR_CLOSED and aware(r.deadline_at) < utcnow()
    return DataSubjectRequestPublic(**r.model_dump(), overdue=overdue)


def open_dsr(
    session: Session, scope: Scope, data: DataSubjectRequestCreate, actor: Principal, settings: Settings
) -> DataSubjectRequest:
    if data.kind not in DSR_KINDS:
        raise PrivacyError(f"unknown request kind {data.kind!r}; use one of {', '.join(DSR_KINDS)}")
    customer_id = scope.resolve_customer(data.customer_id)
    received = data.received_at or utcnow()
    if received.tzinfo is None:
        raise PrivacyError("received_at needs a time zone (e.g. 2026-11-25T10:00:00+01:00)")
    r = DataSubjectRequest(
        customer_id=customer_id,
        employee_id=data.employee_id,
        subject=data.subject,
        kind=data.kind,
        received_at=received,
        deadline_at=received + timedelta(days=settings.dsr_deadline_days),
        handled_by=actor.actor,
        notes=data.notes,
    )
    session.add(r)
    session.flush()
    audit.record(
        session,
        actor.actor,
        "create",
        "dsr",
        r.id,
        customer_id,
        {"kind": r.kind, "employee_id": r.employee_id},
    )
    return r


def get_dsr(session: Session, scope: Scope, dsr_id: int) -> DataSubjectRequest:
    r = session.get(DataSubjectRequest, dsr_id)
    if r is None or not scope.allows(r.customer_id):
        raise NotFound(f"data-subject request {dsr_id} not found")
    return r


def list_dsr(session: Session, scope: Scope, open_only: bool = False) -> list[DataSubjectRequest]:
    stmt = scope.where(select(DataSubjectRequest), DataSubjectRequest.customer_id)
    if open_only:
        stmt = stmt.where(col(DataSubjectRequest.status).not_in(DSR_CLOSED))
    return list(session.exec(stmt.order_by(DataSubjectRequest.deadline_at)).all())


def update_dsr(session: Session, r: DataSubjectRequest, data: DataSubjectRequestUpdate, actor: Principal):
    if data.status is not None:
        if data.status not in DSR_STATUSES:
            raise PrivacyError(f"unknown status {data.status!r}; use one of {', '.join(DSR_STATUSES)}")
        r.status = data.status
        r.closed_at = utcnow() if data.status in DSR_CLOSED else None
    if data.notes is not None:
        r.notes = data.notes
    r.handled_by = actor.actor
    session.add(r)
    audit.record(session, actor.actor, "update", "dsr", r.id, r.customer_id, {"status": r.status})
    return r


def breach_public(b: Breach) -> BreachPublic:
    overdue = b.notified_at is None and aware(b.notify_deadline_at) < utcnow()
    return BreachPublic(**b.model_dump(), overdue=overdue)


def record_breach(session: Session, data: BreachCreate, actor: Principal, settings: Settings) -> Breach:
    detected = data.detected_at or utcnow()
    if detected.tzinfo is None:
        raise PrivacyError("detected_at needs a time zone")
    b = Breach(
        detected_at=detected,
        notify_deadline_at=detected + timedelta(hours=settings.breach_notify_hours),
        description=data.description,
        customer_ids=sorted(set(data.customer_ids)),
        recorded_by=actor.actor,
    )
    session.add(b)
    session.flush()
    audit.record(session, actor.actor, "create", "breach", b.id, None, {"customers": b.customer_ids})
    if settings.breach_contact_email:
        from noxus.core import outbox

        outbox.enqueue(
            session,
            settings.breach_contact_email,
            f"NoxusTime: data breach #{b.id} recorded, notify by {b.notify_deadline_at:%Y-%m-%d %H:%M} UTC",
            f"A personal data breach was recorded by {b.recorded_by}.\n\n"
            f"Detected: {b.detected_at:%Y-%m-%d %H:%M} UTC\n"
            f"Notify the authority (FDPIC) and the customers by: {b.notify_deadline_at:%Y-%m-%d %H:%M} UTC "
            f"({settings.breach_notify_hours} h)\nCustomers affected: {b.customer_ids or 'none named'}\n\n"
            f"{b.description}\n",
            category="breach",
        )
    return b


def mark_breach_notified(session: Session, b: Breach, actor: Principal) -> Breach:
    b.notified_at = utcnow()
    b.status = "notified"
    session.add(b)
    audit.record(session, actor.actor, "notify", "breach", b.id, None, {"customers": b.customer_ids})
    return b
