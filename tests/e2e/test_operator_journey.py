"""NOXUS onboards a customer in a real browser (Debian's chromium through Playwright), from an
empty database: a NOXUS admin creates the customer and its site, registers and installs a kiosk
there and invites the customer's HR admin; the HR admin sets a password from the invitation
e-mail (delivered by `noxus billing send` to a local SMTP server), creates an employee and gives
them a badge; a simulated MicroPython kiosk sends punches over the real MQTT path; the HR admin
sees them and exports the timesheet. No step touches the database or a JSON endpoint: the pages,
the CLI a NOXUS operator runs, the kiosk and the mail.

Not covered here yet: the contract with a plan (billing's set-up forms) and the invoice's QR-bill;
tests/billing covers the invoice and QR-bill from the API side."""

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller

from devstack.broker import wait_port
from devstack.kiosks import spawn, write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_PASSWORD = "operator journey password"
HR_PASSWORD = "hr admin journey password"
UID = "04A1B2C3"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="Debian's chromium is not installed (apt-get install chromium; make test-deps does it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def stack(tmp_path, sqlite_template, broker):
    shutil.copy(sqlite_template, tmp_path / "journey.db")
    inbox = Inbox()
    smtp_port = _free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = _free_port()
    env = {
        **os.environ,
        "NOXUS_DATABASE_URL": f"sqlite:///{tmp_path / 'journey.db'}",
        "NOXUS_COOKIE_SECURE": "false",
        "NOXUS_MQTT_PORT": str(broker.port),
        "NOXUS_SMTP_HOST": "127.0.0.1",
        "NOXUS_SMTP_PORT": str(smtp_port),
        "NOXUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NOXUS_INGEST_CLIENT_ID": f"journey-{port}",
        "NOXUS_INGEST_SHARE_GROUP": f"journey{port}",
    }
    cli = [sys.executable, "-m", "noxus.cli"]
    subprocess.run(
        [*cli, "user", "create", "boss", "--role", "admin", "--password-stdin"],
        env=env,
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    log = open(tmp_path / "server.log", "ab")  # noqa: SIM115 (the servers' log for the whole test)
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "noxus.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    worker = subprocess.Popen([*cli, "ingest"], env=env, stdout=log, stderr=log)
    try:
        wait_port(port, 60)
        yield {
            "base": f"http://127.0.0.1:{port}",
            "env": env,
            "cli": cli,
            "inbox": inbox,
            "broker": broker,
            "tmp": tmp_path,
        }
    finally:
        for p in (api, worker):
            p.terminate()
            p.wait(10)
        smtp.stop()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_noxus_onboards_a_customer_whose_hr_admin_then_sees_punches_from_a_real_kiosk(
    stack, browser, tmp_path
):
    base = stack["base"]
    noxus = browser.new_context(locale="fr-CH", viewport={"width": 1200, "height": 900}).new_page()
    noxus.set_default_timeout(60_000)

    # NOXUS admin logs in and lands on the overview
    noxus.goto(f"{base}/login")
    noxus.fill("input[name=username]", "boss")
    noxus.fill("input[name=password]", ADMIN_PASSWORD)
    noxus.click("form[action='/login'] button")
    noxus.wait_for_url(f"{base}/")

    # a customer, first with a mistake in the UID: the form comes back with what was typed
    noxus.goto(f"{base}/customers/new")
    values = {
        "name": "Menuiserie Dubois",
        "legal_name": "Menuiserie Dubois Sàrl",
        "vat_number": "CHE-107.787.578",
        "street": "Rue de la Gare",
        "house_num": "12",
        "postcode": "1630",
        "town": "Bulle",
        "contact_name": "Claire Dubois",
        "contact_email": "claire@dubois.example",
    }
    for k, v in values.items():
        noxus.fill(f"#f-{k}", v)
    noxus.select_option("#f-language", "fr")
    noxus.select_option("#f-canton", "VD")
    noxus.click("#customer-submit")
    assert "IDE" in noxus.inner_text("#e-vat_number")
    assert noxus.input_value("#f-street") == "Rue de la Gare"
    noxus.fill("#f-vat_number", "CHE-107.787.577 TVA")
    noxus.click("#customer-submit")
    noxus.wait_for_url(re.compile(r".*/customers/\d+\?msg=created"))
    assert noxus.inner_text("#customer-name") == "Menuiserie Dubois"

    # its site
    noxus.click("#new-site")
    noxus.fill("#f-name", "Atelier Bulle")
    noxus.fill("#f-address", "Rue de la Gare 12, 1630 Bulle")
    noxus.select_option("#f-canton", "FR")
    noxus.click("#site-submit")
    noxus.wait_for_url(re.compile(r".*msg=site_created"))
    assert "Atelier Bulle" in noxus.inner_text("#sites")

    # a kiosk registered and installed at the site, after a confirmation
    noxus.goto(f"{base}/fleet/register")
    noxus.fill("#f-id", "K-J1")
    noxus.fill("#f-model", "pico-w")
    noxus.click("#register-submit")
    noxus.wait_for_url(f"{base}/fleet/K-J1?msg=registered")
    noxus.select_option("#f-status", "deployed")
    noxus.select_option("#f-site_id", label="Menuiserie Dubois — Atelier Bulle")
    noxus.click("#status-submit")
    noxus.click("#confirm-submit")
    noxus.wait_for_url(f"{base}/fleet/K-J1?msg=status")
    assert noxus.get_attribute("#kiosk-status", "data-status") == "deployed"

    # the customer's HR admin is invited (confirmation first: it sends an e-mail)
    noxus.goto(f"{base}/users/new")
    noxus.fill("#f-email", "claire@dubois.example")
    noxus.fill("#f-full_name", "Claire Dubois")
    noxus.select_option("#f-role", "hr_admin")
    noxus.select_option("#f-customer_id", label="Menuiserie Dubois")
    noxus.click("#invite-submit")
    noxus.click("#confirm-submit")
    noxus.wait_for_url(re.compile(r".*/users/\d+\?msg=invited"))

    # the outbox goes out (the scheduler's job) to the local SMTP server
    subprocess.run([*stack["cli"], "billing", "send"], env=stack["env"], check=True, capture_output=True)
    [mail] = stack["inbox"].messages
    link = re.search(r"(http://127\.0\.0\.1:\d+/invitation/[A-Za-z0-9_-]+)", mail).group(1)

    # the HR admin chooses a password and logs in: HR lands on HR
    hr = browser.new_context(locale="fr-CH", accept_downloads=True).new_page()
    hr.set_default_timeout(60_000)
    hr.goto(link)
    hr.fill("#f-password", HR_PASSWORD)
    hr.fill("#f-password_again", HR_PASSWORD)
    hr.click("#password-submit")
    hr.wait_for_url(re.compile(r".*/login\?msg=password_set"))
    hr.fill("input[name=username]", "claire@dubois.example")
    hr.fill("input[name=password]", HR_PASSWORD)
    hr.click("form[action='/login'] button")
    hr.wait_for_url(re.compile(r".*/hr/employees.*"))

    # an employee and their badge
    hr.fill("form[action='/hr/employees'] input[name=first_name]", "Léa")
    hr.fill("form[action='/hr/employees'] input[name=last_name]", "Dupré")
    hr.fill("form[action='/hr/employees'] input[name=personnel_number]", "007")
    hr.click("form[action='/hr/employees'] button")
    hr.wait_for_url(re.compile(r".*/hr/employees/\d+.*msg=employee_created.*"))
    assert "Dupré" in hr.inner_text("main")
    hr.goto(f"{base}/hr/badges")
    hr.fill("form.card[action='/hr/badges'] input[name=uid]", UID)
    hr.select_option("form.card[action='/hr/badges'] select[name=employee_id]", label="Dupré Léa")
    hr.click("form.card[action='/hr/badges'] button")
    hr.wait_for_load_state()
    assert UID in hr.inner_text("#badges")

    # the kiosk taps the badge twice (IN, OUT) and drains its journal over MQTT
    cfg = write_config(
        tmp_path / "K-J1",
        "K-J1",
        stack["broker"].port,
        uids=[UID],
        taps=2,
        poll_ms=5,
        cooldown_ms=0,
        gap_polls=50,
        kiosk_no=1,
        quiet=True,
        exit_when_drained=True,
    )
    kiosk = spawn(cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert kiosk.wait(120) == 0

    hr.goto(f"{base}/hr/punches")
    assert hr.inner_text("#punches").count("Dupré") == 2

    # the timesheet export (CSV for Swiss Excel) carries Léa's day
    hr.goto(f"{base}/hr/exports")
    hr.select_option("#export-format", "csv")
    with hr.expect_download() as dl:
        hr.click("#export-submit")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert any("007" in row and "Dupré" in row for row in rows[1:]), rows[:3]
    hr.screenshot(path=os.environ.get("NOXUS_SCREENSHOT", str(tmp_path / "hr.png")), full_page=True)
