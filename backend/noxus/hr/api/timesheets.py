from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import HRReader, TenantScope
from noxus.core.types import id_of
from noxus.hr import employees, export_service, timesheets
from noxus.hr.api.common import PeriodQuery, http_errors
from noxus.hr.schemas import ExceptionPublic, TimesheetPublic
from noxus.hr.views import timesheet_public

router = APIRouter(prefix="/api/v1/hr", tags=["hr"])


@router.get("/timesheets/{employee_id}", response_model=TimesheetPublic)
def get_timesheet(
    employee_id: int,
    period: PeriodQuery,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
):
    """Days [first, last] in the site's zone: shifts, breaks, balance, exceptions,
    and every punch raw and corrected."""
    with http_errors():
        emp = employees.get(session, scope, employee_id)
        sheet = timesheets.compute(session, emp.customer_id, [emp], period.first, period.last, settings)[0]
    return timesheet_public(sheet)


@router.get("/exceptions", response_model=list[ExceptionPublic])
def list_exceptions(
    period: PeriodQuery,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: int | None = None,
):
    customer_id = scope.resolve_customer(customer_id)
    with http_errors():
        emps = employees.listing(session, scope, customer_id)
        sheets = timesheets.compute(session, customer_id, emps, period.first, period.last, settings)
    return [
        ExceptionPublic(
            employee_id=id_of(s.employee),
            employee=f"{s.employee.last_name} {s.employee.first_name}",
            day=d,
            code=c,
        )
        for s in sheets
        for d, c in s.exceptions
    ]


@router.get(
    "/exports", response_class=Response, responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}}
)
def export_timesheets(
    period: PeriodQuery,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    format: str = "csv",
    customer_id: int | None = None,
    employee_id: Annotated[list[int] | None, Query()] = None,
    lang: str = "",
):
    """Timesheets as csv, csv-excel (';' and BOM), xlsx or pdf; columns in docs/exports.md."""
    first, last = period.first, period.last
    with http_errors():
        f = export_service.build(
            session, scope, customer_id, first, last, format, employee_id, lang, settings, user.actor
        )
    session.commit()
    return export_service.response(f)
