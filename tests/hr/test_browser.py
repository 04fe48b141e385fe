"""The HR web UI in a real browser (Debian's chromium driven by Playwright;
no browser is downloaded): log in, correct a missing punch, export XLSX and
open the downloaded file."""

import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from noxus.core.db import make_engine
from playwright import sync_api
from sqlmodel import Session

from tests.support.browser import ARGS, CHROMIUM, free_port
from tests.support.records import add_employee
from tests.support.server import uvicorn_command

from .conftest import World, zh

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True, scope="module")
def _chromium_installed():
    # installable, so a failure that says how, never a skip (docs/testing.md, "Skips")
    assert os.path.exists(CHROMIUM), (
        "Debian's chromium is not installed: apt-get install chromium (make test-deps does it)"
    )


@pytest.fixture
def server(tmp_path, sqlite_template):
    """uvicorn on a free port against a migrated SQLite DB with one employee
    whose OUT is missing on Monday 2 March 2026."""
    from noxus.core.accounts import create_user
    from noxus.core.users import UserCreate

    shutil.copy(sqlite_template, tmp_path / "ui.db")
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    engine = make_engine(url)
    with Session(engine) as s:
        w = World(s)
        emp = w.employee(first="Léa", last="Dupré", number="007", uid="04A1B2C3")
        w.punch("04A1B2C3", zh(2026, 3, 2, 8))
        w.punch("04A1B2C3", zh(2026, 3, 3, 8))
        w.punch("04A1B2C3", zh(2026, 3, 3, 17))
        create_user(
            s, UserCreate(username="rh.alpha", role="hr_admin", customer_id=w.a.id, password=PASSWORD)
        )
        s.commit()
        ids = {"employee": emp.id, "customer": w.a.id, "url": url}
    engine.dispose()
    port = free_port()
    env = {**os.environ, "NOXUS_DATABASE_URL": url, "NOXUS_COOKIE_SECURE": "false"}
    proc = subprocess.Popen(
        uvicorn_command(port),
        env=env,
    )
    from devstack.broker import wait_port

    try:
        wait_port(port, 30)
        yield f"http://127.0.0.1:{port}", ids
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(
            accept_downloads=True, locale="fr-CH", viewport={"width": 1024, "height": 768}
        )
        yield ctx.new_page()
        browser.close()


def test_hr_logs_in_fixes_a_missing_punch_and_exports_xlsx(server, page, tmp_path):
    base, ids = server
    page.goto(f"{base}/hr/exceptions?first=2026-03-01&last=2026-03-31")
    assert "/login" in page.url  # not logged in: sent to the log-in page
    page.fill("input[name=username]", "rh.alpha")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button, form[action='/login'] [type=submit]")
    page.wait_for_url("**/hr/exceptions**")
    cell = page.locator("#exceptions [data-exception=missing_out]")
    assert cell.count() == 1 and "Sortie manquante" in cell.inner_text()

    page.click("#exceptions a:has-text('Corriger')")
    page.wait_for_url(f"**/hr/employees/{ids['employee']}**")
    row = page.locator("#day-2026-03-02")
    assert "Sortie manquante" in row.inner_text()
    page.fill("#fix-at", "2026-03-02T17:00")
    page.fill("#fix-reason", "oubli de badger la sortie")
    page.click("#fix-submit")
    page.wait_for_load_state()
    row = page.locator("#day-2026-03-02")
    assert "9:00" in row.inner_text() and "Sortie manquante" not in row.inner_text()
    assert "oubli de badger la sortie" in page.locator("#corrections").inner_text()
    page.screenshot(path=os.environ.get("NOXUS_SCREENSHOT", str(tmp_path / "employee.png")), full_page=True)

    page.goto(f"{base}/hr/exports")
    page.fill("input[name=first]", "2026-03-01")
    page.fill("input[name=last]", "2026-03-31")
    page.select_option("#export-format", "xlsx")
    with page.expect_download() as dl:
        page.click("#export-submit")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.suffix == ".xlsx"

    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:4] == ["N° personnel", "Nom", "Prénom", "Date"]  # headers in the page's language
    rows = {r[header.index("Date")].date(): r for r in ws.iter_rows(min_row=2, values_only=True)}
    monday, tuesday = rows[date(2026, 3, 2)], rows[date(2026, 3, 3)]
    assert monday[0] == "007" and monday[1] == "Dupré"
    # durations are Excel times formatted [h]:mm (openpyxl reads them back as timedelta)
    assert monday[header.index("Travaillé")] == timedelta(hours=9)
    assert tuesday[header.index("Travaillé")] == timedelta(hours=9)
    assert monday[header.index("Exceptions")] in (None, "")
    assert ws.cell(row=2, column=header.index("Travaillé") + 1).number_format.startswith("[h]:mm")
    assert monday[header.index("Entrée")].hour == 8  # a time cell, not text
    assert monday[header.index("Solde (h)")] == 0.6  # 9:00 worked - 8:24 target, decimal hours


def _login(page, base, path):
    page.goto(f"{base}{path}")
    page.fill("input[name=username]", "rh.alpha")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button, form[action='/login'] [type=submit]")
    page.wait_for_url(f"**{path.split('?')[0]}**")


def test_hr_enters_an_absence_closes_the_month_sees_who_is_in_and_exports_payroll(server, page, tmp_path):
    from datetime import UTC, datetime

    base, ids = server
    # Marc badged in an hour ago and is still in
    engine = make_engine(ids["url"])
    with Session(engine) as s:
        w = World.__new__(World)
        w.s = s
        add_employee(s, ids["customer"], "Marc", "Rochat", "008", badge="04FF0001")
        w.punch("04FF0001", datetime.now(UTC) - timedelta(hours=1))
        s.commit()
    engine.dispose()

    # an absence: first a range that ends before it starts (refused, in French, typed values kept), then right
    _login(page, base, f"/hr/employees/{ids['employee']}?month=2026-03")
    page.select_option("#absence-type", label="Vacances")
    page.fill("#absence-first", "2026-03-10")
    page.fill("#absence-last", "2026-03-09")
    page.fill("#absence-reason", "vacances de printemps")
    page.click("#absence-submit")
    page.wait_for_load_state()
    assert (
        "se termine (09.03.2026) avant de commencer (10.03.2026)" in page.locator("[role=alert]").inner_text()
    )
    assert page.input_value("#absence-first") == "2026-03-10"
    assert page.input_value("#absence-reason") == "vacances de printemps"
    assert "Vacances" not in page.locator("#absence-list").inner_text()  # nothing saved
    page.fill("#absence-last", "2026-03-11")
    page.click("#absence-submit")
    page.wait_for_url("**msg=absence_saved**")
    assert "Vacances" in page.locator("#absence-list").inner_text()
    assert "Vacances 8:24" in page.locator("#day-2026-03-10").inner_text()
    assert page.locator("svg.chart").count() == 2  # weeks and balance, drawn by the server

    # close March through its checklist (Monday 2 March has no OUT)
    page.goto(f"{base}/hr/periods")
    page.fill("#close-month-input", "2026-03")
    page.click("#checklist-submit")
    page.wait_for_url("**month=2026-03**")
    assert page.locator("#checklist [data-check=exception]").count() == 1
    page.check("#close-ack")
    page.click("#close-submit")
    page.wait_for_url("**msg=month_closed**")
    assert (
        "2026-03" in page.locator("#periods").inner_text()
        and "Clôturé" in page.locator("#periods").inner_text()
    )

    # who is in right now
    page.goto(f"{base}/hr/present")
    card = page.locator("#present article")
    assert card.count() == 1 and "Rochat Marc" in card.inner_text()
    assert page.locator("#present[data-refresh]").count() == 1  # refreshed by /static/hr.js

    # the March payroll, built in the background, then downloaded
    page.goto(f"{base}/hr/exports")
    page.fill("#payroll-year", "2026")
    page.fill("#payroll-month", "3")
    page.select_option("#payroll-format", "xlsx")
    page.click("#payroll-submit")
    page.wait_for_url("**/hr/payroll/**")
    link = page.locator("#job-download")
    link.wait_for(timeout=60_000)  # hr.js replaces the progress bar with the link when the job is done
    with page.expect_download() as dl:
        link.click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "payroll_2026-03.xlsx"

    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]
    header = [c.value for c in ws[1]]
    lea = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "007")
    assert lea[header.index("Vacances (h)")] == round(2 * 8.4, 2)
    assert lea[header.index("Vacances prises dans le mois (jours)")] == 2
