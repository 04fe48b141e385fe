"""Absences entered by HR (vacation, sickness, ...): whole days, half days or
hours, over a range; audited; refused in a closed month; never overlapping
another absence of the same employee on the same day (docs/hr.md)."""

from datetime import date, datetime

from sqlmodel import Session, col, select

from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.core.security import Scope
from noxus.core.types import id_of, utcnow
from noxus.hr import audit, employees, periods
from noxus.hr.errors import Conflict, HRError, Locked, NotFound
from noxus.hr.models import AbsenceKind, AbsenceRecord
from noxus.hr.schemas import AbsenceCreate
from noxus.hr.worktime import AM, FULL, HOURS, PM, PORTIONS

# Swiss defaults: (code, credits target, consumes vacation, paid)
DEFAULT_KINDS = (
    ("vacation", True, True, True),
    ("sick", True, False, True),
    ("accident", True, False, True),
    ("military", True, False, True),  # military / civil / civil protection service (EO)
    ("maternity", True, False, True),  # maternity / paternity / adoption leave (EO)
    ("training", True, False, True),
    ("paid_leave", True, False, True),  # wedding, moving, bereavement... (CO art. 329 al. 3)
    ("unpaid_leave", True, False, False),
    ("overtime_comp", False, False, True),  # a day off taken from the overtime balance
)
KIND_NAMES = {
    "vacation": lazy_gettext("Vacation"),
    "sick": lazy_gettext("Sickness"),
    "accident": lazy_gettext("Accident"),
    "military": lazy_gettext("Military / civil service"),
    "maternity": lazy_gettext("Maternity / paternity leave"),
    "training": lazy_gettext("Training"),
    "paid_leave": lazy_gettext("Paid leave"),
    "unpaid_leave": lazy_gettext("Unpaid leave"),
    "overtime_comp": lazy_gettext("Overtime compensation"),
}
PORTION_NAMES = {
    FULL: lazy_gettext("whole day"),
    AM: lazy_gettext("morning"),
    PM: lazy_gettext("afternoon"),
    HOURS: lazy_gettext("hours"),
}


def kind_name(k: AbsenceKind) -> str:
    return k.name or str(KIND_NAMES.get(k.code, k.code))


def ensure_kinds(session: Session, customer_id: int) -> list[AbsenceKind]:
    """The customer's absence types, creating the Swiss defaults on first use."""
    have = {
        k.code: k for k in session.exec(select(AbsenceKind).where(AbsenceKind.customer_id == customer_id))
    }
    for code, credits, vacation, paid in DEFAULT_KINDS:
        if code not in have:
            k = AbsenceKind(
                customer_id=customer_id,
                code=code,
                credits_target=credits,
                consumes_vacation=vacation,
                paid=paid,
            )
            session.add(k)
            have[code] = k
    session.flush()
    order = {c[0]: i for i, c in enumerate(DEFAULT_KINDS)}
    return sorted(have.values(), key=lambda k: (order.get(k.code, 99), k.code))


def listing(
    session: Session,
    scope: Scope,
    employee_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
    customer_id: int | None = None,
) -> list[AbsenceRecord]:
    stmt = scope.where(select(AbsenceRecord), AbsenceRecord.customer_id).where(
        col(AbsenceRecord.cancelled_at).is_(None)
    )
    if employee_id is not None:
        stmt = stmt.where(AbsenceRecord.employee_id == employee_id)
    if customer_id is not None:
        stmt = stmt.where(AbsenceRecord.customer_id == customer_id)
    if first is not None:
        stmt = stmt.where(AbsenceRecord.last >= first)
    if last is not None:
        stmt = stmt.where(AbsenceRecord.first <= last)
    return list(session.exec(stmt.order_by(AbsenceRecord.first, AbsenceRecord.id)).all())


def _months(first: date, last: date):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _ensure_open(session: Session, customer_id: int, first: date, last: date) -> None:
    for y, m in _months(first, last):
        if periods.is_closed(session, customer_id, y, m):
            raise Locked(
                _(
                    "%(month)s is closed: reopen it (Month close page, with a reason) before changing "
                    "its absences"
                )
                % {"month": f"{y}-{m:02d}"}
            )


def _halves(a) -> set[str]:
    return {"am", "pm"} if a.portion in (FULL, HOURS) else {a.portion}


def validate(data: AbsenceCreate) -> None:
    if data.last < data.first:
        raise HRError(
            _("the absence ends (%(last)s) before it starts (%(first)s): swap the dates")
            % {"first": data.first.strftime("%d.%m.%Y"), "last": data.last.strftime("%d.%m.%Y")}
        )
    if (data.last - data.first).days > 366:
        raise HRError(_("an absence lasts at most a year: enter longer ones year by year"))
    if data.portion not in PORTIONS:
        raise HRError(_("portion must be a whole day, a morning, an afternoon or hours"))
    if data.portion == HOURS and not 0 < data.minutes <= 24 * 60:
        raise HRError(_("give the hours of absence per day (between 0:01 and 24:00)"))
    if data.portion in (AM, PM) and data.first != data.last:
        raise HRError(_("a half-day absence covers a single day: give the same first and last day"))


def create(session: Session, scope: Scope, data: AbsenceCreate, actor: str) -> AbsenceRecord:
    emp = employees.get(session, scope, data.employee_id)
    validate(data)
    kinds = {k.id: k for k in ensure_kinds(session, emp.customer_id)}
    if data.type_id not in kinds:
        raise NotFound(_("absence type %(id)s not found: pick one from the list") % {"id": data.type_id})
    _ensure_open(session, emp.customer_id, data.first, data.last)
    for other in listing(session, Scope.only([emp.customer_id]), emp.id, data.first, data.last):
        if _halves(other) & _halves(data):
            raise Conflict(
                _(
                    "%(name)s is already absent from %(first)s to %(last)s (%(type)s): change or "
                    "cancel that absence first"
                )
                % {
                    "name": f"{emp.first_name} {emp.last_name}",
                    "first": other.first.strftime("%d.%m.%Y"),
                    "last": other.last.strftime("%d.%m.%Y"),
                    "type": kind_name(kinds[other.type_id]),
                }
            )
    rec = AbsenceRecord(
        customer_id=emp.customer_id,
        employee_id=id_of(emp),
        type_id=data.type_id,
        first=data.first,
        last=data.last,
        portion=data.portion,
        minutes=data.minutes if data.portion == HOURS else 0,
        reason=data.reason.strip(),
        author=actor,
    )
    session.add(rec)
    session.flush()
    audit.record(
        session,
        emp.customer_id,
        actor,
        "absence.create",
        "absence",
        rec.id,
        employee_id=emp.id,
        type=kinds[data.type_id].code,
        first=rec.first,
        last=rec.last,
        portion=rec.portion,
        minutes=rec.minutes,
        reason=rec.reason,
    )
    return rec


def get(session: Session, scope: Scope, absence_id: int) -> AbsenceRecord:
    a = session.get(AbsenceRecord, absence_id)
    if a is None or not scope.allows(a.customer_id) or a.cancelled_at is not None:
        raise NotFound(_("absence %(id)s not found") % {"id": absence_id})
    return a


def cancel(
    session: Session, scope: Scope, absence_id: int, actor: str, reason: str, at: datetime | None = None
) -> AbsenceRecord:
    a = get(session, scope, absence_id)
    _ensure_open(session, a.customer_id, a.first, a.last)
    if len(reason.strip()) < 3:
        raise HRError(_("cancelling an absence needs a reason"))
    a.cancelled_at, a.cancelled_by = at or utcnow(), actor
    session.add(a)
    audit.record(
        session,
        a.customer_id,
        actor,
        "absence.cancel",
        "absence",
        a.id,
        employee_id=a.employee_id,
        reason=reason.strip(),
    )
    return a
