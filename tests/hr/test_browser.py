"""The HR web UI in a real browser (Debian's chromium driven by Playwright;
no browser is downloaded): log in, correct a missing punch, export XLSX and
open the downloaded file."""

import os
import shutil
import socket
import subprocess
import sys
from datetime import date, timedelta

import pytest
from noxus.core.db import make_engine
from playwright import sync_api
from sqlmodel import Session

from .conftest import World, zh

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"



@pytest.fixture(autouse=True, scope="module")
def _chromium_installed():
    # installable, so a failure that says how, never a skip (docs/testing.md, "Skips")
    assert os.path.exists(CHROMIUM), "Debian's chromium is not installed: apt-get install chromium " \
                                     "(make test-deps does it)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        create_user(s, UserCreate(username="rh.alpha", role="hr_admin", customer_id=w.a.id, password=PASSWORD))
        s.commit()
        ids = {"employee": emp.id, "customer": w.a.id}
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "NOXUS_DATABASE_URL": url, "NOXUS_COOKIE_SECURE": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "noxus.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env)
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
        ctx = browser.new_context(accept_downloads=True, locale="fr-CH", viewport={"width": 1024, "height": 768})
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
