"""The HR audit log: every change HR makes, with author, time and detail."""

from typing import Any

from sqlmodel import Session, select

from noxus.hr.models import HRAuditEvent


def record(session: Session, customer_id: int, actor: str, action: str, entity: str,
           entity_id: int | None = None, **detail: Any) -> HRAuditEvent:
    event = HRAuditEvent(customer_id=customer_id, actor=actor, action=action, entity=entity,
                         entity_id=entity_id, detail={k: _plain(v) for k, v in detail.items()} or None)
    session.add(event)
    return event


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def events(session: Session, customer_id: int, entity: str | None = None, entity_id: int | None = None,
           limit: int = 200) -> list[HRAuditEvent]:
    stmt = select(HRAuditEvent).where(HRAuditEvent.customer_id == customer_id)
    if entity:
        stmt = stmt.where(HRAuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(HRAuditEvent.entity_id == entity_id)
    return list(session.exec(stmt.order_by(HRAuditEvent.id.desc()).limit(limit)).all())
