"""Month close (lock) and reopen, both audited. A closed month refuses any
correction until it is reopened with a reason."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from noxus.core.i18n import format_date
from noxus.core.i18n import gettext as _
from noxus.core.types import utcnow
from noxus.hr import audit, effective
from noxus.hr.errors import Conflict, HRError, Locked
from noxus.hr.models import MonthSnapshot, PeriodLock


def _check(year: int, month: int) -> None:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise HRError(f"{year}-{month:02d} is not a month: give a year 2000-2100 and a month 1-12")


def get(session: Session, customer_id: int, year: int, month: int) -> PeriodLock | None:
    return session.exec(
        select(PeriodLock).where(
            PeriodLock.customer_id == customer_id, PeriodLock.year == year, PeriodLock.month == month
        )
    ).first()


def is_closed(session: Session, customer_id: int, year: int, month: int) -> bool:
    lock = get(session, customer_id, year, month)
    return lock is not None and lock.closed


def listing(session: Session, customer_id: int) -> list[PeriodLock]:
    return list(
        session.exec(
            select(PeriodLock)
            .where(PeriodLock.customer_id == customer_id)
            .order_by(col(PeriodLock.year).desc(), col(PeriodLock.month).desc())
        ).all()
    )


def close(session: Session, customer_id: int, year: int, month: int, actor: str, **detail) -> PeriodLock:
    _check(year, month)
    lock = get(session, customer_id, year, month)
    if lock and lock.closed:
        raise Conflict(f"{year}-{month:02d} is already closed (by {lock.closed_by})")
    if lock is None:
        lock = PeriodLock(customer_id=customer_id, year=year, month=month, closed_by=actor)
    lock.closed, lock.closed_at, lock.closed_by = True, utcnow(), actor
    session.add(lock)
    session.flush()
    audit.record(
        session, customer_id, actor, "month.close", "period", lock.id, year=year, month=month, **detail
    )
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
    # the snapshot was the month's balance at close: recomputed from facts until closed again
    session.execute(
        delete(MonthSnapshot).where(
            col(MonthSnapshot.customer_id) == customer_id,
            col(MonthSnapshot.year) == year,
            col(MonthSnapshot.month) == month,
        )
    )
    audit.record(
        session, customer_id, actor, "month.reopen", "period", lock.id, year=year, month=month, reason=reason
    )
    return lock


def ensure_open(session: Session, customer_id: int, instants: list[datetime], zone: ZoneInfo) -> None:
    """Refuse a change touching any instant in a closed month (local calendar)."""
    for at in instants:
        local = at.astimezone(zone)
        if is_closed(session, customer_id, local.year, local.month):
            raise Locked(
                _(
                    "%(month)s is closed: reopen it (Month close page, with a reason) before changing "
                    "punches of %(day)s",
                    month=f"{local.year}-{local.month:02d}",
                    day=format_date(local.date()),
                )
            )


# Month close with a pre-close checklist and the balance snapshot (issue 14).

CHECK_KINDS = ("exception", "open_shift", "unknown_badge", "absence_overlap")


@dataclass
class Check:
    kind: str
    employee_id: int | None = None
    employee: str = ""
    day: date | None = None
    detail: str = ""


def ensure_ended(session: Session, customer_id: int, year: int, month: int, today: date) -> None:
    _check(year, month)
    if (year, month) >= (today.year, today.month):
        raise HRError(
            _("%(month)s has not ended yet: a month can be closed from the 1st of the next month")
            % {"month": f"{year}-{month:02d}"}
        )


def checklist(
    session: Session,
    customer_id: int,
    year: int,
    month: int,
    settings,
    now: datetime | None = None,
    lang: str = "fr",
) -> tuple[list[Check], list]:
    """What HR must look at before closing: open exceptions, shifts still open,
    unknown badges punched in the month, absences on days with punches.
    Returns (checks, month summaries)."""
    from noxus.core.security import Scope
    from noxus.hr import badges, balances, employees

    first, last = balances.month_bounds(year, month)
    scope = Scope.only([customer_id])
    emps = [
        e
        for e in employees.listing(session, scope, customer_id)
        if e.active_from <= last and (e.active_to is None or e.active_to >= first)
    ]
    summaries = balances.months(session, customer_id, emps, year, month, settings, lang, now=now)
    checks: list[Check] = []
    for m in summaries:
        e = m.employee
        name = f"{e.last_name} {e.first_name}"
        for d in m.sheet.days if m.sheet else ():
            for x in d.exceptions:
                checks.append(Check("exception", e.id, name, d.day, x))
            if any(s.status == "open" for s in d.shifts):
                checks.append(Check("open_shift", e.id, name, d.day))
            if d.worked_seconds and any(a.absence.portion == "day" and a.seconds for a in d.absences):
                checks.append(
                    Check(
                        "absence_overlap",
                        e.id,
                        name,
                        d.day,
                        ", ".join(a.absence.kind.name for a in d.absences),
                    )
                )
    zone = effective.customer_zone(session, customer_id, settings)
    lo, hi = effective.local_range(zone, first, last)
    for u in badges.unknown(session, scope, customer_id, since=lo, until=hi):
        checks.append(Check("unknown_badge", detail=u.uid, day=u.last_at.astimezone(zone).date()))
    return checks, summaries


def close_month(
    session: Session,
    customer_id: int,
    year: int,
    month: int,
    actor: str,
    settings,
    acknowledged: bool = False,
    now: datetime | None = None,
) -> PeriodLock:
    """Close an ended month: refused while the checklist has items HR has not
    acknowledged; stores each employee's month snapshot (the carried balance)."""
    now = now or utcnow()
    zone = effective.customer_zone(session, customer_id, settings)
    ensure_ended(session, customer_id, year, month, now.astimezone(zone).date())
    checks, summaries = checklist(session, customer_id, year, month, settings, now)
    if checks and not acknowledged:
        raise Conflict(
            _(
                "%(n)s item(s) of the checklist are open: review them and tick "
                '"I have reviewed the checklist" to close anyway'
            )
            % {"n": len(checks)}
        )
    lock = close(session, customer_id, year, month, actor, checks=len(checks))
    for m in summaries:
        session.add(
            MonthSnapshot(
                customer_id=customer_id,
                employee_id=m.employee.id,
                **m.totals(),
                carried_seconds=m.carried_out_seconds,
                vacation_taken_x2=round(m.vacation_taken * 2),
                absences=m.absences,
            )
        )
    return lock
