"""Working time, absences, balances and presence (issue 14; the month close is in periods.py,
the payroll exports in payroll.py)."""

from dataclasses import asdict

from fastapi import APIRouter, Query, status

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import current_language
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.core.types import id_of
from noxus.hr import absences, balances, contracts, employees, payroll_service, presence
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import (
    AbsenceCancel,
    AbsenceCreate,
    AbsenceKindPublic,
    AbsencePublic,
    ExtraDayCreate,
    ExtraDayPublic,
    MonthBalancePublic,
    OpeningBalancePublic,
    OpeningBalanceSet,
    PolicyUpdate,
    PresentPublic,
    ScheduleCreate,
    SchedulePublic,
    VacationPublic,
)

router = APIRouter(prefix="/api/v1/hr", tags=["hr"])


# --- schedules, opening balances, days off, policy ---------------------------------------------


@router.get("/employees/{employee_id}/schedules", response_model=list[SchedulePublic])
def list_schedules(employee_id: int, session: SessionDep, scope: TenantScope, user: HRReader):
    with http_errors():
        emp = employees.get(session, scope, employee_id)
    return contracts.schedules(session, id_of(emp))


@router.post(
    "/employees/{employee_id}/schedules", response_model=SchedulePublic, status_code=status.HTTP_201_CREATED
)
def set_schedule(
    employee_id: int, data: ScheduleCreate, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    """The contract from `valid_from` on: percentage, weekly target or per-weekday targets, working days."""
    with http_errors():
        row = contracts.set_schedule(session, scope, employee_id, data, user.actor)
    return stored(session, row)


@router.put("/employees/{employee_id}/opening-balance", response_model=OpeningBalancePublic)
def set_opening(
    employee_id: int, data: OpeningBalanceSet, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    """Overtime (minutes) and vacation days at `tracked_from`; nothing is owed before that day."""
    with http_errors():
        row = contracts.set_opening(session, scope, employee_id, data, user.actor)
    return stored(session, row)


@router.get("/days-off", response_model=list[ExtraDayPublic])
def list_days_off(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: int | None = None,
    year: int | None = Query(default=None, ge=2000, le=2100),
):
    return contracts.extra_days(session, scope.resolve_customer(customer_id), year)


@router.post("/days-off", response_model=ExtraDayPublic, status_code=status.HTTP_201_CREATED)
def add_day_off(
    data: ExtraDayCreate,
    session: SessionDep,
    scope: TenantScope,
    user: HRAdmin,
    customer_id: int | None = None,
):
    """A company holiday (share 100) or a half day (share 50, e.g. 24 December)."""
    with http_errors():
        row = contracts.add_extra_day(session, scope.resolve_customer(customer_id), data, user.actor)
    return stored(session, row)


@router.put("/policy", response_model=PolicyUpdate)
def set_policy(
    data: PolicyUpdate, session: SessionDep, scope: TenantScope, user: HRAdmin, customer_id: int | None = None
):
    """Overtime per week or per day; night and Sunday windows."""
    with http_errors():
        row = contracts.set_policy(session, scope.resolve_customer(customer_id), data, user.actor)
    session.commit()
    return PolicyUpdate(**row.model_dump(include=set(PolicyUpdate.model_fields)))


# --- absences ------------------------------------------------------------------------------------


@router.get("/absence-types", response_model=list[AbsenceKindPublic])
def list_absence_types(
    session: SessionDep, scope: TenantScope, user: HRReader, customer_id: int | None = None
):
    kinds = absences.ensure_kinds(session, scope.resolve_customer(customer_id))
    session.commit()
    return [
        AbsenceKindPublic(
            id=id_of(k),
            code=k.code,
            name=absences.kind_name(k),
            credits_target=k.credits_target,
            consumes_vacation=k.consumes_vacation,
            paid=k.paid,
        )
        for k in kinds
    ]


@router.get("/absences", response_model=list[AbsencePublic])
def list_absences(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    employee_id: int | None = None,
    customer_id: int | None = None,
):
    return absences.listing(session, scope, employee_id, customer_id=customer_id)


@router.post("/absences", response_model=AbsencePublic, status_code=status.HTTP_201_CREATED)
def create_absence(data: AbsenceCreate, session: SessionDep, scope: TenantScope, user: HRAdmin):
    """Whole days, half days (am/pm) or hours per day; refused (409) over another absence or in a closed month."""
    with http_errors():
        row = absences.create(session, scope, data, user.actor)
    return stored(session, row)


@router.post("/absences/{absence_id}/cancel", response_model=AbsencePublic)
def cancel_absence(
    absence_id: int, data: AbsenceCancel, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    with http_errors():
        row = absences.cancel(session, scope, absence_id, user.actor, data.reason)
    return stored(session, row)


# --- balances, month close -------------------------------------------------------------------------


def _month_public(m: balances.MonthSummary) -> MonthBalancePublic:
    v = m.vacation
    assert v is not None, "balances.months computes every month's vacation"
    return MonthBalancePublic(
        **m.totals(),
        employee_id=id_of(m.employee),
        personnel_number=m.employee.personnel_number,
        carried_in_seconds=m.carried_in_seconds,
        carried_out_seconds=m.carried_out_seconds,
        absences=m.absences,
        vacation=VacationPublic(**asdict(v), remaining=v.remaining),
    )


@router.get("/balances", response_model=list[MonthBalancePublic])
def month_balances(
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    year: int = Query(ge=2000, le=2100),
    month: int = Query(ge=1, le=12),
    customer_id: int | None = None,
    employee_id: int | None = None,
):
    """Each employee's month computed from the facts, with the balance carried in and out."""
    with http_errors():
        if employee_id is not None:
            emps = [employees.get(session, scope, employee_id)]
            customer_id = emps[0].customer_id
        else:
            customer_id = scope.resolve_customer(customer_id)
            emps = payroll_service._employees(session, customer_id, year, month)
        out = balances.months(session, customer_id, emps, year, month, settings, current_language())
    return [_month_public(m) for m in out]


# --- presence ----------------------------------------------------------------------------------------


@router.get("/present", response_model=list[PresentPublic])
def present_now(
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: int | None = None,
):
    """Who is in right now: an open shift (IN without OUT, younger than the longest shift)."""
    rows = presence.present(session, scope.resolve_customer(customer_id), settings)
    return [
        PresentPublic(
            employee_id=p.employee_id, employee=p.employee, since=p.since, kiosk_id=p.kiosk_id, site=p.site
        )
        for p in rows
    ]
