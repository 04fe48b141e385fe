"""The HR API over HTTP: roles, tenancy (customer A's HR user never sees
customer B's data: 404 on every B resource), clear 4xx on bad input."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from noxus.core.security import Role, override_principal
from noxus.hr.models import Badge, PunchCorrection
from sqlmodel import select

from .conftest import zh


@pytest.fixture
def app(noxus_app):
    return noxus_app  # tests/conftest.py: the app on the test database


def as_user(app, role, customer_id=None):
    override_principal(app, role, customer_id)
    return TestClient(app)


def test_hr_user_of_a_gets_404_on_every_resource_of_b(app, world, session):
    eb = world.employee(customer=world.b, uid="0B0B")
    world.punch("0B0B", zh(2026, 3, 2, 8))
    session.commit()
    badge_b = session.exec(select(Badge).where(Badge.employee_id == eb.id)).one()
    admin = as_user(app, Role.ADMIN)
    cb = admin.post(
        "/api/v1/hr/corrections",
        json={
            "employee_id": eb.id,
            "action": "add",
            "ts": "2026-03-02T17:00:00+01:00",
            "reason": "missing out",
        },
    )
    assert cb.status_code == 201, cb.text
    a = as_user(app, Role.HR_ADMIN, world.a.id)
    month = {"first": "2026-03-01", "last": "2026-03-31"}
    for method, url, kw in [
        ("get", f"/api/v1/hr/employees/{eb.id}", {}),
        ("patch", f"/api/v1/hr/employees/{eb.id}", {"json": {"first_name": "X"}}),
        ("get", f"/api/v1/hr/timesheets/{eb.id}", {"params": month}),
        ("post", f"/api/v1/hr/badges/{badge_b.id}/end", {"json": {"state": "lost"}}),
        ("post", "/api/v1/hr/badges", {"json": {"uid": "CAFE", "employee_id": eb.id}}),
        (
            "post",
            "/api/v1/hr/corrections",
            {
                "json": {
                    "employee_id": eb.id,
                    "action": "void",
                    "target_id": cb.json()["id"],
                    "reason": "nope",
                }
            },
        ),
        ("get", "/api/v1/hr/exports", {"params": {**month, "employee_id": eb.id}}),
        ("get", "/api/v1/hr/exports", {"params": {**month, "customer_id": world.b.id}}),
        ("get", "/api/v1/hr/periods", {"params": {"customer_id": world.b.id}}),
        ("post", "/api/v1/hr/periods/close", {"json": {"customer_id": world.b.id, "year": 2026, "month": 3}}),
        ("get", "/api/v1/hr/audit", {"params": {"customer_id": world.b.id}}),
        ("get", "/api/v1/hr/exceptions", {"params": {**month, "customer_id": world.b.id}}),
        ("get", "/api/v1/hr/badges/unknown", {"params": {"customer_id": world.b.id}}),
        ("get", f"/hr/employees/{eb.id}", {}),
        ("get", "/hr/badges", {"params": {"customer_id": world.b.id}}),
    ]:
        r = getattr(a, method)(url, **kw)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    # lists are filtered, not refused
    assert a.get("/api/v1/hr/employees").json() == []
    assert a.get("/api/v1/hr/badges").json() == []
    assert a.get("/api/v1/hr/corrections").json() == []
    assert len(session.exec(select(PunchCorrection)).all()) == 1


def test_viewer_cannot_change_anything(app, world):
    v = as_user(app, Role.HR_VIEWER, world.a.id)
    r = v.post(
        "/api/v1/hr/employees",
        json={"first_name": "A", "last_name": "B", "personnel_number": "1", "active_from": "2026-01-01"},
    )
    assert r.status_code == 403


def test_employee_badge_timesheet_and_exports_roundtrip(app, world, session):
    hr = as_user(app, Role.HR_ADMIN, world.a.id)
    r = hr.post(
        "/api/v1/hr/employees",
        json={
            "first_name": "Léa",
            "last_name": "Dupré",
            "personnel_number": "007",
            "weekly_minutes": 2400,
            "active_from": "2026-01-01",
        },
    )
    assert r.status_code == 201, r.text
    emp = r.json()
    assert emp["customer_id"] == world.a.id
    dup = hr.post(
        "/api/v1/hr/employees",
        json={"first_name": "X", "last_name": "Y", "personnel_number": "007", "active_from": "2026-01-01"},
    )
    assert dup.status_code == 409 and "already used" in dup.json()["detail"]
    world.punch("04A1B2C3", zh(2026, 3, 2, 8))
    world.punch("04A1B2C3", zh(2026, 3, 2, 16, 30))
    session.commit()
    r = hr.post(
        "/api/v1/hr/badges",
        json={"uid": "04:a1:b2:c3", "employee_id": emp["id"], "valid_from": "2026-03-01T00:00:00+01:00"},
    )
    assert r.status_code == 201 and r.json()["uid"] == "04A1B2C3"
    ts = hr.get(
        f"/api/v1/hr/timesheets/{emp['id']}", params={"first": "2026-03-02", "last": "2026-03-08"}
    ).json()
    assert ts["days"][0]["worked_seconds"] == 8.5 * 3600
    assert ts["weeks"][0]["balance_seconds"] == 8.5 * 3600 - 5 * 8 * 3600
    csv = hr.get("/api/v1/hr/exports", params={"first": "2026-03-02", "last": "2026-03-02", "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8").splitlines()
    assert lines[0].startswith("personnel_number,last_name,first_name,date")
    assert lines[1].split(",")[:8] == ["007", "Dupré", "Léa", "2026-03-02", "1", "08:00", "16:30", "510"]
    excel = hr.get(
        "/api/v1/hr/exports", params={"first": "2026-03-02", "last": "2026-03-02", "format": "csv-excel"}
    )
    assert excel.content.startswith(b"\xef\xbb\xbfpersonnel_number;last_name")
    pdf = hr.get("/api/v1/hr/exports", params={"first": "2026-03-01", "last": "2026-03-31", "format": "pdf"})
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"first": "2026-03-31", "last": "2026-03-01"}, "before it starts"),
        ({"first": "2026-01-01", "last": "2026-12-31"}, "at most 93"),
        ({"first": "2026-03-01", "last": "2026-03-31", "format": "docx"}, "unknown export format"),
        ({"first": "2026-03-01", "last": "2026-03-31", "employee_id": 999999}, "not found"),
    ],
)
def test_bad_export_requests_get_a_clear_4xx(app, world, params, fragment):
    hr = as_user(app, Role.HR_ADMIN, world.a.id)
    r = hr.get("/api/v1/hr/exports", params=params)
    assert 400 <= r.status_code < 500 and fragment in r.json()["detail"], r.text


def test_correction_in_closed_month_is_409_and_reopen_is_audited(app, world, session):
    e = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 2, 8))
    session.commit()
    hr = as_user(app, Role.HR_ADMIN, world.a.id)
    assert hr.post("/api/v1/hr/periods/close", json={"year": 2026, "month": 3}).status_code == 200
    body = {"employee_id": e.id, "action": "add", "ts": "2026-03-02T17:00:00+01:00", "reason": "missing out"}
    r = hr.post("/api/v1/hr/corrections", json=body, headers={"Accept-Language": "en"})
    assert r.status_code == 409 and "reopen" in r.json()["detail"]  # in the client's language
    assert (
        hr.post(
            "/api/v1/hr/periods/reopen", json={"year": 2026, "month": 3, "reason": "late fix"}
        ).status_code
        == 200
    )
    assert hr.post("/api/v1/hr/corrections", json=body).status_code == 201
    audit = [x["action"] for x in hr.get("/api/v1/hr/audit").json()]
    assert audit[:3] == ["correction.add", "month.reopen", "month.close"]
    ts = hr.get(f"/api/v1/hr/timesheets/{e.id}", params={"first": "2026-03-02", "last": "2026-03-02"}).json()
    assert ts["days"][0]["worked_seconds"] == 9 * 3600
    raw, added = ts["punches"]
    assert raw["raw_at"] and not raw["added"] and added["added"] and added["raw_at"] is None
    assert date.fromisoformat(ts["days"][0]["day"]) == date(2026, 3, 2)


def test_pages_render_in_french_and_english(app, world, session):
    e = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 2, 8))
    session.commit()
    hr = as_user(app, Role.HR_ADMIN, world.a.id)
    for path in [
        "/hr/employees",
        "/hr/badges",
        "/hr/punches",
        "/hr/exceptions?first=2026-03-01&last=2026-03-31",
        "/hr/corrections",
        "/hr/periods",
        "/hr/exports",
        f"/hr/employees/{e.id}?month=2026-03",
    ]:
        r = hr.get(path)
        assert r.status_code == 200, (path, r.text[:500])
    assert "Sortie manquante" in hr.get(f"/hr/employees/{e.id}?month=2026-03").text
    assert "Missing OUT" in hr.get(f"/hr/employees/{e.id}?month=2026-03&lang=en").text


@pytest.mark.parametrize(
    "url, params",
    [
        ("/api/v1/hr/badges", {"uid": "not-hex!"}),
        ("/api/v1/hr/exports", {"first": "0001-01-01", "last": "0001-01-02"}),
        ("/api/v1/hr/exceptions", {"first": "9999-12-30", "last": "9999-12-31"}),
    ],
)
def test_odd_query_values_are_4xx_not_500(app, world, url, params):
    r = as_user(app, Role.HR_ADMIN, world.a.id).get(url, params=params)
    assert r.status_code == 422, r.text
