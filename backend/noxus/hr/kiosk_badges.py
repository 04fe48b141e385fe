"""What a kiosk may show when a badge is tapped: the first names of a customer's employees by
badge UID, for the config pushed to its kiosks (noxus.fleet.commands.badge_names_provider,
registered at app start — fleet never reads HR's tables)."""

from sqlalchemy import or_
from sqlmodel import Session, col, select

from noxus.core.types import utcnow
from noxus.hr.models import Badge, Employee

MAX_BADGES = 5000  # the firmware's limit for one config (docs/firmware.md)


def badge_names(session: Session, customer_id: int) -> dict[str, str]:
    now = utcnow()
    rows = session.exec(
        select(Badge.uid, Employee.first_name)
        .join(Employee, col(Employee.id) == col(Badge.employee_id))
        .where(
            Badge.customer_id == customer_id,
            Badge.valid_from <= now,
            or_(col(Badge.valid_to).is_(None), col(Badge.valid_to) > now),
        )
        .order_by(Badge.uid)
        .limit(MAX_BADGES)
    ).all()
    return {uid: first for uid, first in rows}
