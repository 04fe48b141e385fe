from fastapi import APIRouter, status

from noxus.core.deps import SessionDep
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.hr import employees
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import EmployeeCreate, EmployeePublic, EmployeeUpdate

router = APIRouter(prefix="/api/v1/hr/employees", tags=["hr"])


@router.get("", response_model=list[EmployeePublic])
def list_employees(
    session: SessionDep, scope: TenantScope, user: HRReader, customer_id: int | None = None, q: str = ""
):
    return employees.listing(session, scope, customer_id, q)


@router.post("", response_model=EmployeePublic, status_code=status.HTTP_201_CREATED)
def create_employee(data: EmployeeCreate, session: SessionDep, scope: TenantScope, user: HRAdmin):
    customer_id = scope.resolve_customer(data.customer_id)
    with http_errors():
        emp = employees.create(session, customer_id, data, user.actor)
    return stored(session, emp)


@router.get("/{employee_id}", response_model=EmployeePublic)
def get_employee(employee_id: int, session: SessionDep, scope: TenantScope, user: HRReader):
    with http_errors():
        emp = employees.get(session, scope, employee_id)
    employees.record_staff_read(session, user, emp, "api")
    return emp


@router.patch("/{employee_id}", response_model=EmployeePublic)
def update_employee(
    employee_id: int, data: EmployeeUpdate, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    with http_errors():
        emp = employees.update(session, employees.get(session, scope, employee_id), data, user.actor)
    return stored(session, emp)
