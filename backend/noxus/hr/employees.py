"""Employees of a customer."""

from sqlmodel import Session, select

from noxus.core.security import Scope
from noxus.hr import audit
from noxus.hr.errors import Conflict, NotFound
from noxus.hr.models import Employee
from noxus.hr.schemas import EmployeeCreate, EmployeeUpdate
from noxus.tenancy.models import Customer, Site


def get(session: Session, scope: Scope, employee_id: int) -> Employee:
    emp = session.get(Employee, employee_id)
    if emp is None or not scope.allows(emp.customer_id):
        raise NotFound(f"employee {employee_id} not found: check the id in the employee list")
    return emp


def listing(session: Session, scope: Scope, customer_id: int | None = None, q: str = "") -> list[Employee]:
    stmt = scope.where(select(Employee), Employee.customer_id)
    if customer_id is not None:
        stmt = stmt.where(Employee.customer_id == customer_id)
    if q:
        like = f"%{q.lower()}%"
        from sqlalchemy import func, or_

        stmt = stmt.where(
            or_(
                func.lower(Employee.last_name).like(like),
                func.lower(Employee.first_name).like(like),
                func.lower(Employee.personnel_number).like(like),
            )
        )
    return list(session.exec(stmt.order_by(Employee.last_name, Employee.first_name, Employee.id)).all())


def create(session: Session, customer_id: int, data: EmployeeCreate, actor: str) -> Employee:
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    _check_site(session, customer_id, data.site_id)
    dup = session.exec(
        select(Employee).where(
            Employee.customer_id == customer_id, Employee.personnel_number == data.personnel_number
        )
    ).first()
    if dup:
        raise Conflict(
            f"personnel number {data.personnel_number} is already used by employee {dup.id} "
            f"({dup.first_name} {dup.last_name}): choose another number"
        )
    emp = Employee(**data.model_dump(exclude={"customer_id"}), customer_id=customer_id)
    session.add(emp)
    session.flush()
    audit.record(
        session,
        customer_id,
        actor,
        "employee.create",
        "employee",
        emp.id,
        name=f"{emp.first_name} {emp.last_name}",
        personnel_number=emp.personnel_number,
    )
    return emp


def update(session: Session, emp: Employee, data: EmployeeUpdate, actor: str) -> Employee:
    changes = data.model_dump(exclude_unset=True)
    if "site_id" in changes:
        _check_site(session, emp.customer_id, changes["site_id"])
    before = {k: getattr(emp, k) for k in changes}
    for k, v in changes.items():
        setattr(emp, k, v)
    if emp.active_to is not None and emp.active_to < emp.active_from:
        raise Conflict("active_to is before active_from: give a later date")
    session.add(emp)
    audit.record(
        session, emp.customer_id, actor, "employee.update", "employee", emp.id, before=before, after=changes
    )
    return emp


def _check_site(session: Session, customer_id: int, site_id: int | None) -> None:
    if site_id is None:
        return
    site = session.get(Site, site_id)
    if site is None or site.customer_id != customer_id:
        raise NotFound(f"site {site_id} not found for this customer")


def record_staff_read(session: Session, user, emp: Employee, via: str) -> None:
    """A NOXUS staff member (not the customer's own HR) read an employee's personal data:
    recorded in the hash-chained audit log, committed at once (a read has no other write)."""
    if not getattr(user, "is_staff", False):
        return
    from noxus.core import audit as core_audit

    core_audit.record(session, user.actor, "read", "employee", emp.id, emp.customer_id, {"via": via})
    session.commit()
