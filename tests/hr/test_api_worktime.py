"""The working-time API over HTTP: schedules, absences with clear 4xx, balances,
the close checklist, payroll export and its background job, who is present."""

from datetime import UTC, datetime, timedelta

from noxus.core.security import Role

from .test_api import app, as_user  # noqa: F401  (fixture)

HOSTILE = "=cmd|'/C calc'!A0"


def test_hr_enters_a_schedule_an_absence_and_reads_the_month(app, world, session):  # noqa: F811
    anne = world.employee(first=HOSTILE, uid="04A1")
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    r = c.post(
        f"/api/v1/hr/employees/{anne.id}/schedules",
        json={"valid_from": "2020-01-01", "percent": 120},
        headers={"Accept-Language": "de"},
    )
    assert r.status_code == 422 and "zwischen 0 und 100" in r.json()["detail"]
    r = c.post(f"/api/v1/hr/employees/{anne.id}/schedules", json={"valid_from": "2020-01-01", "percent": 80})
    assert r.status_code == 201, r.text
    kinds = {k["code"]: k["id"] for k in c.get("/api/v1/hr/absence-types").json()}
    assert set(kinds) >= {
        "vacation",
        "sick",
        "accident",
        "military",
        "maternity",
        "training",
        "paid_leave",
        "unpaid_leave",
        "overtime_comp",
    }
    body = {"employee_id": anne.id, "type_id": kinds["vacation"], "first": "2026-03-02", "last": "2026-03-06"}
    assert c.post("/api/v1/hr/absences", json=body).status_code == 201
    r = c.post(
        "/api/v1/hr/absences",
        json={**body, "first": "2026-03-06", "last": "2026-03-09"},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 409 and "already absent" in r.json()["detail"]
    r = c.post("/api/v1/hr/absences", json={**body, "first": "2026-03-20", "last": "2026-03-19"})
    assert r.status_code == 422
    [m] = c.get("/api/v1/hr/balances", params={"year": 2026, "month": 3}).json()
    assert m["absences"] == {"vacation": 5 * (6 * 3600 + 43 * 60 + 12)} and m["vacation"]["taken"] == 5.0
    r = c.get("/api/v1/hr/payroll", params={"year": 2026, "month": 3, "format": "csv-excel"})
    assert r.status_code == 200 and ("'" + HOSTILE).encode() in r.content


def test_closing_through_the_api_needs_the_checklist_acknowledged(app, world, session):  # noqa: F811
    world.employee(uid="04A1")
    world.punch("04A1", datetime(2026, 2, 2, 7, tzinfo=UTC))  # an IN without OUT
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    items = c.get("/api/v1/hr/periods/checklist", params={"year": 2026, "month": 2}).json()
    assert [(i["kind"], i["detail"]) for i in items] == [("exception", "missing_out")]
    assert c.post("/api/v1/hr/periods/close-month", params={"year": 2026, "month": 2}).status_code == 409
    r = c.post("/api/v1/hr/periods/close-month", params={"year": 2026, "month": 2, "acknowledged": True})
    assert r.status_code == 200 and r.json()["closed"]
    future = datetime.now(UTC) + timedelta(days=40)
    r = c.post(
        "/api/v1/hr/periods/close-month",
        params={"year": future.year, "month": future.month, "acknowledged": True},
    )
    assert r.status_code == 422


def test_a_background_payroll_job_can_be_polled_and_downloaded(app, world, session):  # noqa: F811
    world.employee(uid="04A1")
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    r = c.post("/api/v1/hr/payroll/jobs", params={"year": 2026, "month": 3, "format": "xlsx"})
    assert r.status_code == 202, r.text
    job = r.json()
    import threading

    from noxus.hr.models import ExportJob

    for t in threading.enumerate():  # the worker thread of this job: wait for it, no polling on time
        if t.name == f"hr-export-{job['id']}":
            t.join(60)
    status = c.get(f"/api/v1/hr/payroll/jobs/{job['id']}").json()
    assert status["state"] == "done", status["error"]
    d = c.get(f"/api/v1/hr/payroll/jobs/{job['id']}/download")
    assert d.status_code == 200 and d.content.startswith(b"PK")
    assert session.get(ExportJob, job["id"]) is not None


def test_present_now_lists_who_has_an_open_shift(app, world, session):  # noqa: F811
    anne = world.employee(first="Anne", uid="04A1")
    world.employee(first="Bob", uid="04B2")
    now = datetime.now(UTC)
    world.punch("04A1", now - timedelta(hours=2))
    world.punch("04B2", now - timedelta(hours=3))
    world.punch("04B2", now - timedelta(hours=1))  # Bob came and left
    session.commit()
    c = as_user(app, Role.HR_VIEWER, world.a.id)
    rows = c.get("/api/v1/hr/present").json()
    assert [r["employee_id"] for r in rows] == [anne.id] and rows[0]["kiosk_id"] == "K1"
