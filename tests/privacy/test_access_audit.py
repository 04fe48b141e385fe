"""Bulk HR exports and every NOXUS staff read of an employee's personal data
land in the hash-chained audit log; a customer's own HR reading its staff
does not (it is their data)."""

from fastapi.testclient import TestClient
from noxus.core import audit
from noxus.core.audit_entry import AuditEntry
from sqlmodel import Session, select

from tests.support.records import add_customer, add_employee


def _employee(engine):
    with Session(engine) as s:
        c = add_customer(s)
        e = add_employee(s, c.id)
        s.commit()
        return c.id, e.id


def _entries(engine, action):
    with Session(engine) as s:
        return s.exec(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_a_staff_read_of_an_employee_is_audited_and_the_customers_own_hr_read_is_not(
    engine, noxus_app, login_as
):
    cid, eid = _employee(engine)
    client = TestClient(noxus_app)
    login_as("hr_admin", cid)
    assert client.get(f"/api/v1/hr/employees/{eid}").status_code == 200
    assert _entries(engine, "read") == []
    login_as("admin")
    assert client.get(f"/api/v1/hr/employees/{eid}").status_code == 200
    assert client.get(f"/hr/employees/{eid}").status_code == 200
    reads = _entries(engine, "read")
    assert [(r.object_type, r.object_id, r.customer_id) for r in reads] == [("employee", str(eid), cid)] * 2
    with Session(engine) as s:
        assert audit.verify(s).ok


def test_a_bulk_timesheet_export_is_audited_with_its_scope(engine, noxus_app, login_as):
    cid, _ = _employee(engine)
    login_as("hr_admin", cid)
    r = TestClient(noxus_app).get(
        "/api/v1/hr/exports", params={"first": "2026-03-01", "last": "2026-03-31", "format": "csv"}
    )
    assert r.status_code == 200
    [e] = _entries(engine, "export")
    assert e.object_type == "timesheets" and e.customer_id == cid
    assert e.detail["employees"] == 1 and e.detail["first"] == "2026-03-01"
