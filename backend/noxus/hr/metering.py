"""Active users per customer and calendar month: what billing charges for.

Billing calls this; it never counts punches itself. Month boundaries are
Europe/Zurich calendar months (NOXUS invoices Swiss customers by their month).
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from noxus.hr.models import Badge
from noxus.hr.placement import UID_CHUNK, belongs, place, raw_punches, window_clause

METERING_ZONE = ZoneInfo("Europe/Zurich")
MODES = ("punched", "badge")


def month_bounds(year: int, month: int, zone: ZoneInfo = METERING_ZONE) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar month, as UTC instants."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def active_user_ids(
    session: Session, customer_id: int, year: int, month: int, mode: str = "punched"
) -> set[int]:
    """Employees of `customer_id` counted as active users in the month.

    mode "punched": at least one raw punch (kind "punch") placed in the month
    (noxus.hr.placement: the same instant timesheets use, estimates included)
    on a kiosk that served this customer then (or nobody), through a badge
    valid at that instant; mode "badge": holding a badge that was
    valid at some point of the month.
    """
    return active_user_ids_by_customer(session, [customer_id], year, month, mode)[customer_id]


def active_user_ids_by_customer(
    session: Session, customer_ids: Iterable[int], year: int, month: int, mode: str = "punched"
) -> dict[int, set[int]]:
    """`active_user_ids` for many customers at once (the monthly invoice run): a few queries per
    2 000 customers instead of a few per customer. Every customer asked for is in the answer."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    start, end = month_bounds(year, month)
    ids = sorted(set(customer_ids))
    active: dict[int, set[int]] = {cid: set() for cid in ids}
    for i in range(0, len(ids), UID_CHUNK):
        chunk = ids[i : i + UID_CHUNK]
        overlaps = and_(
            col(Badge.customer_id).in_(chunk),
            col(Badge.valid_from) < end,
            or_(col(Badge.valid_to).is_(None), col(Badge.valid_to) > start),
        )
        if mode == "badge":
            for cid, emp in session.execute(
                select(Badge.customer_id, Badge.employee_id).where(overlaps).distinct()
            ).all():
                active[cid].add(emp)
            continue
        # uid -> {customer: [(valid_from, valid_to, employee)]}: a UID may change hands
        by_uid: dict[str, dict[int, list]] = {}
        cols = (Badge.uid, Badge.customer_id, Badge.employee_id, Badge.valid_from, Badge.valid_to)
        for uid, cid, emp, vf, vt in session.execute(sa_select(*map(col, cols)).where(overlaps)).all():
            by_uid.setdefault(uid, {}).setdefault(cid, []).append((vf, vt, emp))
        # Candidates in SQL (an estimate is never later than the arrival, and at
        # most ESTIMATE_SLACK earlier), placed and filtered in Python.
        found = raw_punches(session, sorted(by_uid), window_clause(start, end))
        placed = place(session, found)
        for r in found:
            p = placed[r.id]
            if not start <= p.at < end:
                continue
            for cid, badges in by_uid[r.badge_uid].items():
                if not belongs(p, cid):
                    continue
                for vf, vt, emp in badges:
                    if vf <= p.at and (vt is None or p.at < vt):
                        active[cid].add(emp)
                        break
    return active


def active_users_by_customer(
    session: Session, customer_ids: Iterable[int], year: int, month: int, mode: str = "punched"
) -> dict[int, int]:
    """Active users per customer for the month (what billing's run charges for)."""
    return {
        cid: len(emps)
        for cid, emps in active_user_ids_by_customer(session, customer_ids, year, month, mode).items()
    }


def active_users(session: Session, customer_id: int, year: int, month: int, mode: str = "punched") -> int:
    return len(active_user_ids(session, customer_id, year, month, mode))


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month
