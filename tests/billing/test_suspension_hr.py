"""Suspension enforced where HR acts: a suspended customer's HR exports (timesheets, payroll, the
background payroll job) and new badges are refused with billing's message naming the overdue
invoice — an HTML page in the reader's language, a 4xx JSON answer, a CLI error — and allowed
again once it is paid; punches keep being recorded (test_state). HR never imports billing: it
asks noxus.core.restrictions, where billing registers its checker at start."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from fastapi.testclient import TestClient
from noxus.billing import dunning
from noxus.billing import state as billing_state
from noxus.core import restrictions
from noxus.core.db import get_engine
from noxus.core.i18n import use_language
from noxus.core.security import Scope
from noxus.core.settings import get_settings
from noxus.hr import badges, export_service, jobs, payroll_service
from noxus.hr.errors import Suspended
from noxus.hr.models import Badge, Employee
from noxus.hr.schemas import BadgeAssign
from sqlmodel import select

from .conftest import billing_settings, issued_run, pay_in_full

ZH = ZoneInfo("Europe/Zurich")
PAYROLL = {"kind": "payroll", "year": 2026, "month": 1, "format": "csv-excel", "lang": "en"}


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=ZH), tick=False)


@pytest.fixture
def billing_checker():
    """What noxus.main and noxus.cli do at start."""
    added = billing_state.refusal not in restrictions._checkers
    restrictions.register(billing_state.refusal)
    yield
    if added:
        restrictions.unregister(billing_state.refusal)


@pytest.fixture
def suspended(session, books, meter, billing_checker):
    """Alpha SA: invoice 2026-000001 due 11.01.2026 unpaid, reminders on 21 and 31 January
    (suspension at reminder 2, the default), one employee; the clock is on 31 January 2026."""
    settings = billing_settings()
    customer, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=1)
    emp = Employee(
        customer_id=customer.id,
        first_name="Anna",
        last_name="Muster",
        personnel_number="1",
        active_from=date(2025, 1, 1),
    )
    session.add(emp)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False).created
    for day in (date(2026, 1, 21), date(2026, 1, 31)):
        with at(day):
            dunning.run_dunning(session, None, settings)
    session.commit()
    with at(date(2026, 1, 31)):
        yield customer, emp, inv_id


def test_hr_exports_and_new_badges_are_refused_naming_the_overdue_invoice(session, suspended):
    customer, emp, _ = suspended
    with (
        use_language("en"),
        pytest.raises(Suspended, match=r"invoice 2026-000001 \(due 11\.01\.2026\)") as exc,
    ):
        export_service.build(
            session, Scope.everything(), customer.id, date(2026, 1, 1), date(2026, 1, 31), "csv", lang="en"
        )
    assert exc.value.status_code == 403
    with pytest.raises(Suspended, match="2026-000001"):
        payroll_service.build(session, customer.id, PAYROLL, billing_settings())
    with pytest.raises(Suspended, match="2026-000001"):
        jobs.submit(session, customer.id, "payroll", PAYROLL, "hr")
    with pytest.raises(Suspended, match="2026-000001"):
        badges.assign(session, Scope.everything(), BadgeAssign(uid="04A1B2C3", employee_id=emp.id), "hr")
    session.rollback()
    assert session.exec(select(Badge)).all() == []


def test_once_paid_the_same_exports_and_badges_are_allowed(session, suspended):
    customer, emp, inv_id = suspended
    pay_in_full(session, inv_id, date(2026, 1, 31))
    f = export_service.build(
        session, Scope.everything(), customer.id, date(2026, 1, 1), date(2026, 1, 31), "csv", lang="en"
    )
    assert f.content and f.filename.endswith(".csv")
    assert payroll_service.build(session, customer.id, PAYROLL, billing_settings()).content
    badge = badges.assign(session, Scope.everything(), BadgeAssign(uid="04A1B2C3", employee_id=emp.id), "hr")
    assert badge.valid_from <= datetime.now(UTC)


def test_pages_show_the_refusal_in_the_readers_language_and_the_api_answers_403(
    noxus_app, login_as, session, suspended
):
    customer, emp, _ = suspended
    login_as("hr_admin", customer.id)
    client = TestClient(noxus_app, base_url="https://testserver")
    params = {"first": "2026-01-01", "last": "2026-01-31", "format": "csv", "customer_id": customer.id}
    page = client.get(
        "/hr/exports/download", params=params, headers={"Accept": "text/html", "Accept-Language": "de"}
    )
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert (
        "HR-Exporte sind für diesen Kunden gesperrt: Rechnung 2026-000001 (fällig am 11.01.2026)" in page.text
    )
    api = client.get("/api/v1/hr/exports", params=params, headers={"Accept-Language": "en"})
    assert api.status_code == 403
    assert api.json()["detail"].startswith("HR exports are suspended for this customer: invoice 2026-000001")
    job = client.post(
        "/api/v1/hr/payroll/jobs", params={"year": 2026, "month": 1, "customer_id": customer.id}
    )
    assert job.status_code == 403 and "2026-000001" in job.json()["detail"]
    badge = client.post(
        "/api/v1/hr/badges",
        json={"uid": "04A1B2C3", "employee_id": emp.id},
        headers={"Accept-Language": "en"},
    )
    assert badge.status_code == 403 and badge.json()["detail"].startswith("New badges are suspended")


def test_the_cli_refuses_the_export_with_the_message(session, suspended, db_url, monkeypatch, tmp_path):
    from noxus.cli import app
    from typer.testing import CliRunner

    customer, _, _ = suspended
    monkeypatch.setenv("NOXUS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        out = tmp_path / "t.csv"
        args = ["hr", "export", "-c", str(customer.id), "--from", "2026-01-01", "--to", "2026-01-31"]
        r = CliRunner().invoke(app, [*args, "--lang", "en", "-o", str(out)])
        payroll = CliRunner().invoke(
            app, ["hr", "payroll", "-c", str(customer.id), "--year", "2026", "--month", "1", "--lang", "de"]
        )
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert r.exit_code == 2 and not out.exists()
    assert "HR exports are suspended" in r.output and "2026-000001" in r.output
    assert payroll.exit_code == 2 and "HR-Exporte sind für diesen Kunden gesperrt" in payroll.output


def test_the_badge_form_and_the_payroll_page_refuse_in_german_and_nothing_is_made(
    noxus_app, login_as, session, suspended
):
    from noxus.hr.models import ExportJob

    customer, emp, _ = suspended
    login_as("hr_admin", customer.id)
    client = TestClient(noxus_app, base_url="https://testserver")
    html = {"Accept": "text/html"}
    form = client.post(
        "/hr/badges?lang=de",
        headers=html,
        data={"customer_id": str(customer.id), "uid": "04A1B2C3", "employee_id": str(emp.id)},
        follow_redirects=False,
    )
    assert form.status_code == 422
    assert "Neue Badges sind für diesen Kunden gesperrt: Rechnung 2026-000001" in form.text
    assert 'value="04A1B2C3"' in form.text  # what was typed is kept
    start = client.post(
        "/hr/payroll?lang=de",
        headers=html,
        data={"customer_id": str(customer.id), "year": "2026", "month": "1"},
        follow_redirects=True,
    )
    assert "HR-Exporte sind für diesen Kunden gesperrt: Rechnung 2026-000001" in start.text
    session.expire_all()
    assert session.exec(select(Badge)).all() == [] and session.exec(select(ExportJob)).all() == []
