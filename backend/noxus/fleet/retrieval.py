"""Kiosk retrieval steps other contexts ask for (billing §7.6, contract end).

Billing never writes the kiosk tables: it calls these functions, which go through the
asset life cycle (noxus.fleet.status), so every change is an audited status event.
Written by the billing helper; the fleet context owns it from here on.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from noxus.fleet.models import Kiosk, KioskStatus
from noxus.fleet.status import change_status

S = KioskStatus


def kiosks_at_customer(session: Session, customer_id: int, kiosk_ids: list[str] | None = None) -> list[Kiosk]:
    """The customer's kiosks still on its premises (deployed or being retrieved); only those of
    `kiosk_ids` when given (the kiosks of one contract)."""
    q = select(Kiosk).where(
        Kiosk.customer_id == customer_id,
        col(Kiosk.status).in_([S.DEPLOYED, S.RETRIEVAL_ELIGIBLE, S.RETRIEVAL_SCHEDULED]),
    )
    if kiosk_ids is not None:
        q = q.where(col(Kiosk.id).in_(kiosk_ids))
    return list(session.exec(q.order_by(Kiosk.id)))


@dataclass
class RetrievalStep:
    """Which kiosks a retrieval step moves, and why (the reason goes into each status event):
    the customer's kiosks on its premises, or only those of `kiosk_ids` (one contract's)."""

    customer_id: int
    reason: str
    actor: str = "billing"
    kiosk_ids: list[str] | None = None


def _flag_eligible(session: Session, step: RetrievalStep) -> list[Kiosk]:
    """The kiosks at the customer, the deployed ones now retrieval eligible (the others already are or
    are scheduled)."""
    kiosks = kiosks_at_customer(session, step.customer_id, step.kiosk_ids)
    for kiosk in kiosks:
        if kiosk.status == S.DEPLOYED:
            change_status(session, kiosk, S.RETRIEVAL_ELIGIBLE, step.actor, reason=step.reason)
    return kiosks


def mark_retrieval_eligible(session: Session, step: RetrievalStep) -> list[str]:
    """Every deployed kiosk of the step becomes retrieval eligible; returns their ids."""
    return [kiosk.id for kiosk in _flag_eligible(session, step)]


def schedule_retrieval(session: Session, step: RetrievalStep, visit: datetime) -> list[str]:
    """The step's kiosks get a retrieval visit (deployed ones are flagged first)."""
    kiosks = _flag_eligible(session, step)
    for kiosk in kiosks:
        change_status(
            session, kiosk, S.RETRIEVAL_SCHEDULED, step.actor, scheduled_for=visit, reason=step.reason
        )
    return [kiosk.id for kiosk in kiosks]


def cancel_retrieval(session: Session, step: RetrievalStep) -> list[str]:
    """The debt is paid: the step's kiosks flagged or scheduled for retrieval go back to deployed."""
    restored = []
    for kiosk in kiosks_at_customer(session, step.customer_id, step.kiosk_ids):
        if kiosk.status in (S.RETRIEVAL_ELIGIBLE, S.RETRIEVAL_SCHEDULED):
            change_status(session, kiosk, S.DEPLOYED, step.actor, reason=step.reason)
            restored.append(kiosk.id)
    return restored


def mark_retrieved(
    session: Session, kiosk_id: str, actor: str, at: datetime | None = None, reason: str = ""
) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise ValueError(f"kiosk {kiosk_id} is not in the register")
    change_status(session, kiosk, S.RETRIEVED, actor, at=at, reason=reason)
    return kiosk
