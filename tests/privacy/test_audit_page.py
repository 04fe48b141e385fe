"""The audit log as people read it: sentences with names, in Swiss time, filtered, paged, and
a customer's HR admin sees only entries about their own customer."""

from datetime import date

import pytest
from noxus.core import audit
from noxus.hr import audit as hr_audit
from noxus.tenancy.models import Customer
from sqlmodel import Session

from tests.support.records import add_employee

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _world(engine):
    with Session(engine) as s:
        a, b = Customer(name="Alpha SA"), Customer(name="Beta Sàrl")
        s.add_all([a, b])
        s.flush()
        emp = add_employee(s, a.id, "Léa", "Dupré", "7", date(2026, 1, 1))
        hr_audit.record(s, a.id, "anna#3", "employee.update", "employee", emp.id, last_name="Dupré")
        audit.record(s, "tech#5", "update", "kiosk", "K1", customer_id=a.id)
        audit.record(s, "bob#4", "read", "employee", 999, customer_id=b.id)
        s.commit()
        return a.id, b.id


def test_audit_page_says_who_did_what_with_names(engine, staff_client):
    _world(engine)
    page = staff_client.get("/audit?lang=en", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "anna changed employee Léa Dupré." in page.text
    assert "tech changed kiosk K1." in page.text
    de = staff_client.get("/audit?lang=de").text
    assert "anna hat den Mitarbeitenden Léa Dupré geändert." in de


def test_audit_page_filters_by_person_and_kiosk(engine, staff_client):
    _world(engine)
    only_anna = staff_client.get("/audit?lang=en&person=anna").text
    assert "anna changed" in only_anna and "tech changed" not in only_anna
    only_k1 = staff_client.get("/audit?lang=en&kiosk=K1").text
    assert "tech changed kiosk K1." in only_k1 and "anna changed" not in only_k1


def test_customer_hr_admin_sees_only_their_customer(engine, noxus_app, login_as):
    from fastapi.testclient import TestClient

    a, _b = _world(engine)
    login_as("hr_admin", customer_id=a)
    page = TestClient(noxus_app, base_url="https://testserver").get("/audit?lang=en").text
    assert "anna changed" in page and "bob" not in page
