"""HR's settings of working time: an employee's dated schedules and opening
balance, a customer's extra days off and time policy. All audited. (The
canton of a site, which chooses its public holidays, belongs to tenancy.)"""

from datetime import date, time

from sqlmodel import Session, col, select

from noxus.core.i18n import gettext as _
from noxus.core.security import Scope
from noxus.core.types import id_of
from noxus.hr import audit, employees
from noxus.hr.errors import HRError, NotFound
from noxus.hr.models import Employee, ExtraDay, HRPolicy, OpeningBalance, WorkSchedule
from noxus.hr.schemas import ExtraDayCreate, OpeningBalanceSet, PolicyUpdate, ScheduleCreate


def schedules(session: Session, employee_id: int) -> list[WorkSchedule]:
    return list(
        session.exec(
            select(WorkSchedule)
            .where(WorkSchedule.employee_id == employee_id)
            .order_by(col(WorkSchedule.valid_from))
        ).all()
    )


def check_schedule(data: ScheduleCreate) -> None:
    if not 0 <= data.percent <= 100:
        raise HRError(
            _("the employment percentage must be between 0 and 100 (got %(p)s)") % {"p": data.percent}
        )
    if (
        not data.working_days
        or any(c not in "1234567" for c in data.working_days)
        or len(set(data.working_days)) != len(data.working_days)
    ):
        raise HRError(_("working days are ISO weekday numbers, e.g. 12345 for Monday to Friday"))
    if data.weekday_minutes is not None and (
        len(data.weekday_minutes) != 7 or any(not 0 <= m <= 24 * 60 for m in data.weekday_minutes)
    ):
        raise HRError(_("give seven daily targets, Monday to Sunday, each between 0:00 and 24:00"))
    if not 0 <= data.weekly_minutes <= 7 * 24 * 60:
        raise HRError(_("the weekly target must be between 0 and 168 hours"))


def set_schedule(
    session: Session, scope: Scope, employee_id: int, data: ScheduleCreate, actor: str
) -> WorkSchedule:
    """Add (or replace) the schedule starting on `valid_from`."""
    emp = employees.get(session, scope, employee_id)
    check_schedule(data)
    row = session.exec(
        select(WorkSchedule).where(
            WorkSchedule.employee_id == emp.id, WorkSchedule.valid_from == data.valid_from
        )
    ).first()
    row = row or WorkSchedule(customer_id=emp.customer_id, employee_id=id_of(emp), valid_from=data.valid_from)
    for k in ("percent", "weekly_minutes", "working_days", "weekday_minutes", "vacation_days"):
        setattr(row, k, getattr(data, k))
    session.add(row)
    session.flush()
    audit.record(
        session, emp.customer_id, actor, "schedule.set", "employee", emp.id, **data.model_dump(mode="json")
    )
    return row


def opening(session: Session, employee_id: int) -> OpeningBalance | None:
    return session.get(OpeningBalance, employee_id)


def set_opening(
    session: Session, scope: Scope, employee_id: int, data: OpeningBalanceSet, actor: str
) -> OpeningBalance:
    emp: Employee = employees.get(session, scope, employee_id)
    if data.vacation_days * 2 != int(data.vacation_days * 2):
        raise HRError(_("vacation days are counted in half days (e.g. 12.5)"))
    row = session.get(OpeningBalance, id_of(emp)) or OpeningBalance(
        employee_id=id_of(emp), customer_id=emp.customer_id, tracked_from=data.tracked_from
    )
    row.tracked_from, row.overtime_minutes = data.tracked_from, data.overtime_minutes
    row.vacation_days_x2 = int(data.vacation_days * 2)
    session.add(row)
    session.flush()
    audit.record(
        session, emp.customer_id, actor, "balance.opening", "employee", emp.id, **data.model_dump(mode="json")
    )
    return row


def extra_days(session: Session, customer_id: int, year: int | None = None) -> list[ExtraDay]:
    stmt = select(ExtraDay).where(ExtraDay.customer_id == customer_id)
    if year is not None:
        stmt = stmt.where(ExtraDay.day >= date(year, 1, 1), ExtraDay.day <= date(year, 12, 31))
    return list(session.exec(stmt.order_by(col(ExtraDay.day))).all())


def add_extra_day(session: Session, customer_id: int, data: ExtraDayCreate, actor: str) -> ExtraDay:
    if not 1 <= data.share <= 100:
        raise HRError(_("the part of the day off is a percentage from 1 to 100 (50: half a day)"))
    row = session.exec(
        select(ExtraDay).where(ExtraDay.customer_id == customer_id, ExtraDay.day == data.day)
    ).first()
    row = row or ExtraDay(customer_id=customer_id, day=data.day, name=data.name)
    row.name, row.share = data.name.strip(), data.share
    session.add(row)
    session.flush()
    audit.record(
        session, customer_id, actor, "extra_day.set", "extra_day", row.id, **data.model_dump(mode="json")
    )
    return row


def delete_extra_day(session: Session, customer_id: int, day_id: int, actor: str) -> None:
    row = session.get(ExtraDay, day_id)
    if row is None or row.customer_id != customer_id:
        raise NotFound(_("day off %(id)s not found") % {"id": day_id})
    session.delete(row)
    audit.record(
        session, customer_id, actor, "extra_day.delete", "extra_day", day_id, day=row.day, name=row.name
    )


def set_policy(session: Session, customer_id: int, data: PolicyUpdate, actor: str) -> HRPolicy:
    if data.overtime_rule not in ("daily", "weekly"):
        raise HRError(_("overtime is counted per day (daily) or per week (weekly)"))
    for v in (data.night_start, data.night_end, data.sunday_start):
        try:
            time.fromisoformat(v)
        except (TypeError, ValueError):
            raise HRError(_("%(value)s is not a time like 23:00") % {"value": v}) from None
    row = session.get(HRPolicy, customer_id) or HRPolicy(customer_id=customer_id)
    for k, v in data.model_dump().items():
        setattr(row, k, v)
    session.add(row)
    session.flush()
    audit.record(session, customer_id, actor, "policy.set", "customer", customer_id, **data.model_dump())
    return row
