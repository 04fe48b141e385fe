"""Every billing transition is an audited event (who, when, what)."""

from datetime import datetime

from sqlmodel import Session

from noxus.billing.models import BillingEvent
from noxus.core.types import utcnow


def record(session: Session, kind: str, *, actor: str = "system", customer_id: int | None = None,
           invoice_id: int | None = None, case_id: int | None = None, at: datetime | None = None,
           **detail) -> BillingEvent:
    event = BillingEvent(kind=kind, actor=actor, customer_id=customer_id, invoice_id=invoice_id,
                         case_id=case_id, at=at or utcnow(), detail=detail or None)
    session.add(event)
    return event
