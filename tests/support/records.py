"""Rows many tests start from: a customer, an employee of it, the employee's badge. Each helper adds
to the caller's session and flushes (ids are set), the caller commits."""

from datetime import UTC, date, datetime, time

from noxus.hr.models import Badge, Employee
from noxus.tenancy.models import Customer
from sqlmodel import Session


def add_customer(s: Session, name: str = "Alpha SA") -> Customer:
    customer = Customer(name=name)
    s.add(customer)
    s.flush()
    return customer


def add_employee(
    s: Session,
    customer_id: int | None,
    first_name: str = "Anne",
    last_name: str = "Muller",
    personnel_number: str = "P1",
    active_from: date = date(2020, 1, 1),
    badge: str | None = None,
) -> Employee:
    """An employee active from `active_from`; with `badge` (a card UID), badged from that day on."""
    employee = Employee(
        customer_id=customer_id,
        first_name=first_name,
        last_name=last_name,
        personnel_number=personnel_number,
        active_from=active_from,
    )
    s.add(employee)
    s.flush()
    if badge is not None:
        valid_from = datetime.combine(active_from, time(), tzinfo=UTC)
        s.add(Badge(customer_id=customer_id, uid=badge, employee_id=employee.id, valid_from=valid_from))
        s.flush()
    return employee
