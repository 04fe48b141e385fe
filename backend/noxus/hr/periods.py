"""Month close (lock) and reopen, both audited. A closed month refuses any
correction until it is reopened with a reason."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from noxus.core.types import utcnow
from noxus.hr import audit
from noxus.hr.errors import Conflict, HRError, Locked
from noxus.hr.models import PeriodLock


def _check(year: int, month: int) -> None:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise HRError(f"{year}-{month:02d} is not a month: give a year 2000-2100 and a month 1-12")


def get(session: Session, customer_id: int, year: int, month: int) -> PeriodLock | None:
    return session.exec(select(PeriodLock).where(PeriodLock.customer_id == customer_id, PeriodLock.year == year,
                                                 PeriodLock.month == month)).first()


def is_closed(session: Session, customer_id: int, year: int, month: int) -> bool:
    lock = get(session, customer_id, year, month)
    return lock is not None and lock.closed


def listing(session: Session, customer_id: int) -> list[PeriodLock]:
    return list(session.exec(select(PeriodLock).where(PeriodLock.customer_id == customer_id)
                             .order_by(PeriodLock.year.desc(), PeriodLock.month.desc())).all())


def close(session: Session, customer_id: int, year: int, month: int, actor: str) -> PeriodLock:
    _check(year, month)
    lock = get(session, customer_id, year, month)
    if lock and lock.closed:
        raise Conflict(f"{year}-{month:02d} is already closed (by {lock.closed_by})")
    if lock is None:
        lock = PeriodLock(customer_id=customer_id, year=year, month=month, closed_by=actor)
    lock.closed, lock.closed_at, lock.closed_by = True, utcnow(), actor
    session.add(lock)
    session.flush()
    audit.record(session, customer_id, actor, "month.close", "period", lock.id, year=year, month=month)
    return lock


def reopen(session: Session, customer_id: int, year: int, month: int, actor: str, reason: str) -> PeriodLock:
    _check(year, month)
    lock = get(session, customer_id, year, month)
    if lock is None or not lock.closed:
        raise Conflict(f"{year}-{month:02d} is not closed: nothing to reopen")
    if len(reason.strip()) < 3:
        raise HRError("reopening a closed month needs a reason")
    lock.closed, lock.reopened_at, lock.reopened_by, lock.reopen_reason = False, utcnow(), actor, reason
    session.add(lock)
    audit.record(session, customer_id, actor, "month.reopen", "period", lock.id, year=year, month=month,
                 reason=reason)
    return lock


def ensure_open(session: Session, customer_id: int, instants: list[datetime], zone: ZoneInfo) -> None:
    """Refuse a change touching any instant in a closed month (local calendar)."""
    for at in instants:
        local = at.astimezone(zone)
        if is_closed(session, customer_id, local.year, local.month):
            raise Locked(f"{local.year}-{local.month:02d} is closed: reopen it (Period close page, "
                         f"with a reason) before changing punches of {local:%d.%m.%Y}")
