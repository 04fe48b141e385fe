"""Data-subject rights: the request register (7-day deadline), one-click export of everything
about an employee, erasure that keeps totals, breaches (72 h), retention and contract end."""

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from noxus.core import audit
from noxus.core.settings import get_settings
from noxus.fleet.models import Kiosk
from noxus.hr import timesheets
from noxus.hr.models import Employee, PunchCorrection
from noxus.ingest.models import Punch
from noxus.privacy import retention
from noxus.privacy.models import PrivacyPolicy
from noxus.tenancy.models import Customer
from sqlmodel import Session, select

from tests.support.records import add_employee


def _at(y, mo, d, h=0):
    return datetime(y, mo, d, h, tzinfo=UTC)


@pytest.fixture
def world(engine):
    with Session(engine) as s:
        s.add(Kiosk(id="K1", name="entrance"))
        a, b = Customer(name="Alpha SA"), Customer(name="Beta Sàrl")
        s.add_all([a, b])
        s.flush()
        emp = add_employee(s, a.id, personnel_number="A-17", active_from=date(2019, 1, 1), badge="04A1B2C3")
        other = add_employee(s, b.id, "Bob", "Rossi", "B-1", date(2019, 1, 1))
        seq = 0
        for day in (_at(2019, 3, 4), _at(2026, 11, 2), _at(2026, 11, 3)):
            for h in (7, 12, 13, 16):
                seq += 1
                s.add(
                    Punch(
                        kiosk_id="K1",
                        seq=seq,
                        badge_uid="04A1B2C3",
                        ts=day + timedelta(hours=h),
                        received_at=day + timedelta(hours=h),
                    )
                )
        s.flush()
        s.add(
            PunchCorrection(
                customer_id=a.id,
                employee_id=emp.id,
                action="add",
                ts=_at(2026, 11, 4, 7),
                author="hr-a",
                reason="Anne Muller forgot her badge at home",
            )
        )
        s.commit()
        return {"a": a.id, "b": b.id, "emp": emp.id, "other": other.id}


@pytest.fixture
def client(noxus_app):
    return TestClient(noxus_app, base_url="https://testserver")


def _sheet(engine, emp_id, first=date(2026, 11, 1), last=date(2026, 11, 30)):
    with Session(engine) as s:
        emp = s.get(Employee, emp_id)
        return timesheets.compute(s, emp.customer_id, [emp], first, last, get_settings())[0].worked_seconds


def test_request_register_sets_a_7_day_deadline_and_scopes_by_customer(client, world, auth_headers):
    hr_a, hr_b = auth_headers("hr_admin", world["a"]), auth_headers("hr_admin", world["b"])
    r = client.post(
        "/api/v1/privacy/requests",
        headers=hr_a,
        json={"employee_id": world["emp"], "kind": "access", "received_at": "2026-11-20T09:00:00+01:00"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["customer_id"] == world["a"] and body["deadline_at"].startswith("2026-11-27T08:00")
    assert body["overdue"] is False or datetime.now(UTC) > _at(2026, 11, 27, 8)
    assert client.get("/api/v1/privacy/requests", headers=hr_b).json() == []
    assert (
        client.patch(
            f"/api/v1/privacy/requests/{body['id']}", headers=hr_b, json={"status": "done"}
        ).status_code
        == 404
    )
    # B's HR admin cannot open a request about A's employee
    r = client.post(
        "/api/v1/privacy/requests", headers=hr_b, json={"employee_id": world["emp"], "kind": "access"}
    )
    assert r.status_code == 404
    r = client.patch(f"/api/v1/privacy/requests/{body['id']}", headers=hr_a, json={"status": "done"})
    assert r.json()["status"] == "done" and r.json()["closed_at"] and r.json()["overdue"] is False


def test_an_old_open_request_is_overdue(client, world, auth_headers):
    r = client.post(
        "/api/v1/privacy/requests",
        headers=auth_headers("admin"),
        json={"customer_id": world["a"], "kind": "erasure", "received_at": "2020-01-01T00:00:00Z"},
    )
    assert r.json()["overdue"] is True


def test_export_holds_profile_badges_punches_corrections_as_json_and_csv(client, world, auth_headers, engine):
    r = client.get(
        f"/api/v1/privacy/employees/{world['emp']}/export", headers=auth_headers("hr_admin", world["a"])
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert {"employee.json", "profile.csv", "badges.csv", "punches.csv", "corrections.csv"} <= set(
        z.namelist()
    )
    data = json.loads(z.read("employee.json"))
    assert data["profile"]["last_name"] == "Muller"
    assert len(data["punches"]) == 12 and len(data["badges"]) == 1 and len(data["corrections"]) == 1
    assert z.read("punches.csv").decode().count("\n") == 13
    with Session(engine) as s:
        last = s.exec(select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc())).first()
    assert (last.action, last.object_id) == ("export", str(world["emp"]))


def test_export_of_another_customers_employee_is_not_found(client, world, auth_headers):
    r = client.get(
        f"/api/v1/privacy/employees/{world['emp']}/export", headers=auth_headers("hr_admin", world["b"])
    )
    assert r.status_code == 404
    r = client.get(
        f"/api/v1/privacy/employees/{world['emp']}/export", headers=auth_headers("hr_viewer", world["a"])
    )
    assert r.status_code == 403


def test_erasure_removes_identity_but_keeps_time_totals_and_punches(client, world, auth_headers, engine):
    before = _sheet(engine, world["emp"])
    assert before > 0
    h = auth_headers("hr_admin", world["a"])
    assert (
        client.post(f"/api/v1/privacy/employees/{world['emp']}/erase", headers=h, json={}).status_code == 400
    )
    r = client.post(f"/api/v1/privacy/employees/{world['emp']}/erase", headers=h, json={"confirm": True})
    assert r.status_code == 200, r.text
    assert _sheet(engine, world["emp"]) == before
    with Session(engine) as s:
        emp = s.get(Employee, world["emp"])
        assert (
            "Anne" not in emp.first_name and "Muller" not in emp.last_name and emp.personnel_number != "A-17"
        )
        assert len(s.exec(select(Punch)).all()) == 12
        assert "Anne" not in s.exec(select(PunchCorrection)).one().reason
        assert audit.verify(s).ok
    data = client.get(f"/api/v1/privacy/employees/{world['emp']}/export", headers=h).content
    assert b"Muller" not in zipfile.ZipFile(io.BytesIO(data)).read("employee.json")


def test_breach_register_sets_the_72_hour_deadline_for_admins_only(client, world, auth_headers):
    r = client.post(
        "/api/v1/privacy/breaches",
        headers=auth_headers("admin"),
        json={
            "detected_at": "2026-11-01T10:00:00Z",
            "description": "laptop lost",
            "customer_ids": [world["a"]],
        },
    )
    assert r.status_code == 201 and r.json()["notify_deadline_at"].startswith("2026-11-04T10:00")
    assert r.json()["overdue"] is True
    r = client.post(f"/api/v1/privacy/breaches/{r.json()['id']}/notified", headers=auth_headers("admin"))
    assert r.json()["status"] == "notified" and r.json()["overdue"] is False
    assert (
        client.get("/api/v1/privacy/breaches", headers=auth_headers("hr_admin", world["a"])).status_code
        == 403
    )


def test_retention_deletes_time_records_older_than_the_customers_period(world, engine):
    with Session(engine) as s:
        rep = retention.run(s, get_settings(), now=_at(2026, 11, 25))
        s.commit()
        assert rep.customers[world["a"]]["punches"] == 4  # the 2019 day, older than 5 years
        assert len(s.exec(select(Punch)).all()) == 8
    assert _sheet(engine, world["emp"]) > 0  # recent totals unaffected


def test_contract_end_returns_a_bundle_then_deletes(world, engine, tmp_path):
    with Session(engine) as s:
        s.add(
            PrivacyPolicy(
                customer_id=world["a"], contract_end_action="export", contract_ended_at=_at(2026, 11, 1)
            )
        )
        s.commit()
        rep = retention.run(s, get_settings(), now=_at(2026, 11, 25), out_dir=tmp_path)
        s.commit()
        assert len(rep.bundles) == 1
        inner = zipfile.ZipFile(rep.bundles[0]).namelist()
        assert inner == [f"employee-{world['emp']}.zip", f"employee-{world['other']}.zip"][:1]
        assert s.exec(select(Punch)).all() == []
        assert s.get(Employee, world["emp"]).last_name.startswith("erased-")
        assert s.get(Employee, world["other"]).last_name == "Rossi"  # other customer untouched
        assert s.get(PrivacyPolicy, world["a"]).purged_at is not None
        assert audit.verify(s).ok
