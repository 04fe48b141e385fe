"""HR's entries in the one audit log (noxus.core.audit): every change HR makes, with author, time
and detail. What HR records is about employees, so its detail is personal data (erasable)."""

from typing import Any

from sqlmodel import Session, col, select

from noxus.core import audit
from noxus.core.audit_entry import AuditEntry
from noxus.core.types import id_of
from noxus.hr.schemas import AuditPublic


def record(
    session: Session,
    customer_id: int,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    return audit.record(
        session,
        actor,
        action,
        entity,
        "" if entity_id is None else entity_id,
        customer_id=customer_id,
        personal={k: _plain(v) for k, v in detail.items()} or None,
    )


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


HR_OBJECTS = ("employee", "badge", "correction", "period", "absence")


def events(
    session: Session,
    customer_id: int,
    entity: str | None = None,
    entity_id: int | None = None,
    limit: int = 200,
) -> list[AuditPublic]:
    """HR's entries of the audit log, newest first, as HR reads them."""
    stmt = select(AuditEntry).where(AuditEntry.customer_id == customer_id)
    stmt = (
        stmt.where(AuditEntry.object_type == entity)
        if entity
        else stmt.where(col(AuditEntry.object_type).in_(HR_OBJECTS))
    )
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(entity_id))
    rows = session.exec(stmt.order_by(col(AuditEntry.id).desc()).limit(limit)).all()
    return [
        AuditPublic(
            id=id_of(e),
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.object_type,
            entity_id=int(e.object_id) if e.object_id.isdigit() else None,
            detail=e.shown(),
        )
        for e in rows
    ]
