"""Active users per customer and calendar month: what billing charges for.

Billing calls this; it never counts punches itself. Month boundaries are
Europe/Zurich calendar months (NOXUS invoices Swiss customers by their month).
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from noxus.hr.effective import kiosk_clause
from noxus.hr.models import Badge
from noxus.ingest.models import Punch

METERING_ZONE = ZoneInfo("Europe/Zurich")
MODES = ("punched", "badge")


def month_bounds(year: int, month: int, zone: ZoneInfo = METERING_ZONE) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar month, as UTC instants."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def active_user_ids(session: Session, customer_id: int, year: int, month: int,
                    mode: str = "punched") -> set[int]:
    """Employees of `customer_id` counted as active users in the month.

    mode "punched": at least one raw punch (kind "punch") in the month, on a
    kiosk of this customer (or one not deployed to any customer yet), through
    a badge valid at that instant; mode "badge": holding a badge that was
    valid at some point of the month.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    start, end = month_bounds(year, month)
    overlaps = and_(Badge.customer_id == customer_id, Badge.valid_from < end,
                    or_(Badge.valid_to.is_(None), Badge.valid_to > start))
    if mode == "badge":
        return set(session.exec(select(Badge.employee_id).where(overlaps).distinct()).all())
    # A punch with an estimated time (kiosk clock unset) counts by its arrival.
    when = func.coalesce(Punch.ts, Punch.received_at)
    stmt = (select(Badge.employee_id).distinct()
            .join(Punch, Punch.badge_uid == Badge.uid)
            .where(overlaps, Punch.kind == "punch", when >= start, when < end, kiosk_clause(customer_id),
                   when >= Badge.valid_from, or_(Badge.valid_to.is_(None), when < Badge.valid_to)))
    return set(session.exec(stmt).all())


def active_users(session: Session, customer_id: int, year: int, month: int, mode: str = "punched") -> int:
    return len(active_user_ids(session, customer_id, year, month, mode))


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month
