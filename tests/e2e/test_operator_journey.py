"""NOXUS runs a customer's whole life in a real browser (Debian's chromium through Playwright), from
an empty database: a NOXUS admin creates the customer and its site, a plan with a price version
typed in CHF and a contract, registers and installs a kiosk there and adds it to the contract, and
invites a NOXUS billing colleague and the customer's HR admin; each sets a password from the
invitation e-mail (delivered by `noxus billing send`, the scheduler's job, to a local SMTP server:
the outbox page lists the mails but never shows a one-time link, docs/security.md); the HR admin
creates employees and gives them badges; a simulated MicroPython kiosk sends punches over the real
MQTT path (a Mosquitto of the test's own, the real ingest worker); the HR admin sees the timesheet
and exports it; the billing colleague, who lands on billing, runs the month (drafts, review, issue)
and opens the invoice PDF, whose QR-bill decodes (zxing-cpp) to the invoice's amount and reference.
No step touches the database, Python internals or a JSON endpoint: the pages, the CLI a NOXUS
operator runs, the kiosk and the mail.

The contract starts on the first day of a coming month (subscriptions are billed in advance): its
first invoice holds whole months only, so the amounts do not depend on the day the test runs."""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta

import pypdfium2
import pytest
import zxingcpp
from aiosmtpd.controller import Controller

from devstack.broker import wait_port
from devstack.kiosks import spawn, write_config
from tests.support.browser import ARGS, CHROMIUM, free_port
from tests.support.server import uvicorn_command

ADMIN_PASSWORD = "operator journey password"
HR_PASSWORD = "hr admin journey password"
BILLING_PASSWORD = "billing clerk journey password"
UIDS = {"007": "04A1B2C3", "008": "04A1B2C4"}
DEADLINE_S = 60  # safety deadline of every wait on a condition

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="Debian's chromium is not installed (apt-get install chromium; make test-deps does it)",
    ),
]


class Inbox:
    def __init__(self):
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def stack(tmp_path, sqlite_template, private_broker):
    broker = private_broker
    shutil.copy(sqlite_template, tmp_path / "journey.db")
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = free_port()
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
        uvicorn_command(port),
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


def first_of_a_coming_month() -> date:
    """The first day of next month, or of the one after when next month starts tomorrow: a contract
    cannot start before the customer exists, and the test may cross midnight."""
    day = date.today() + timedelta(days=2)
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def wait_for_page(page, url: str, condition, what: str) -> None:
    """Reload `url` until `condition(page)` holds (data arriving from another process)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        page.goto(url)
        if condition(page):
            return
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE_S} s"
        page.wait_for_load_state("networkidle")


def confirm(page) -> None:
    """The confirmation page of an action that changes a customer's state or sends mail."""
    page.click("form:has(input[name=confirmed]) button")


def invite(page, base: str, email: str, name: str, role: str, customer: str | None) -> None:
    """Staff invite someone: the form, then the confirmation (it sends an e-mail)."""
    page.goto(f"{base}/users/new")
    page.fill("#f-email", email)
    page.fill("#f-full_name", name)
    page.select_option("#f-role", role)
    if customer:
        page.select_option("#f-customer_id", label=customer)
    page.click("#invite-submit")
    page.click("#confirm-submit")
    page.wait_for_url(re.compile(r".*/users/\d+\?msg=invited"))


def accept_invitation(browser, base: str, link: str, username: str, password: str, lands_on: str):
    """The invited person chooses a password from the e-mail's link, logs in and lands on their
    role's page; -> their browser page."""
    page = browser.new_context(locale="fr-CH", accept_downloads=True).new_page()
    page.set_default_timeout(60_000)
    page.goto(link)
    page.fill("#f-password", password)
    page.fill("#f-password_again", password)
    page.click("#password-submit")
    page.wait_for_url(re.compile(r".*/login\?msg=password_set"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(lands_on))
    return page


def decode_qr(pdf: bytes) -> list[str]:
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_noxus_onboards_a_customer_and_bills_it_while_its_hr_admin_sees_punches_from_a_real_kiosk(
    stack, browser, tmp_path
):
    base = stack["base"]
    start = first_of_a_coming_month()
    noxus = browser.new_context(
        locale="fr-CH", viewport={"width": 1200, "height": 900}, accept_downloads=True
    ).new_page()
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

    # a plan whose prices are typed in CHF as people type them
    noxus.goto(f"{base}/billing/plans")
    plan = "form[action='/billing/plans']"
    noxus.fill(f"{plan} [name=code]", "ATELIER")
    noxus.fill(f"{plan} [name=name]", "Atelier")
    noxus.fill(f"{plan} [name=effective_from]", start.replace(month=1).isoformat())
    noxus.fill(f"{plan} [name=monthly_fee]", "120.00")
    noxus.fill(f"{plan} [name=monthly_fee_per_kiosk]", "4,50")
    noxus.fill(f"{plan} [name=users_included]", "10")
    noxus.fill(f"{plan} [name=price_per_additional_user]", "6.00")
    noxus.fill(f"{plan} [name=setup_fee]", "1'200.00")
    noxus.click(f"{plan} button")
    noxus.wait_for_url(re.compile(r".*/billing/plans\?.*"))
    assert "ATELIER" in noxus.inner_text("main")

    # the contract, from the first day of a coming month; its billing profile comes from the
    # customer's record (the confirmation says so)
    noxus.goto(f"{base}/billing/contracts")
    noxus.select_option("#f-customer_id", label="Menuiserie Dubois")
    noxus.select_option("#f-plan_id", label="ATELIER — Atelier")
    noxus.fill("#f-start_date", start.isoformat())
    noxus.click("form[action='/billing/contracts'] button")
    assert "claire@dubois.example" in noxus.inner_text("main")
    confirm(noxus)
    noxus.wait_for_url(re.compile(r".*/billing/contracts/\d+\?.*"))
    contract_url = noxus.url.split("?")[0]

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

    # ...and added to the contract from its first day: the per-kiosk fee follows it
    noxus.goto(contract_url)
    noxus.select_option("#f-kiosk_id", "K-J1")
    noxus.fill("#f-on", start.isoformat())
    noxus.click(f"form[action='{contract_url.removeprefix(base)}/kiosks'] button")
    confirm(noxus)
    noxus.wait_for_url(re.compile(re.escape(contract_url) + r"\?.*"))
    assert "K-J1" in noxus.inner_text("main table")

    # NOXUS staff and the customer's HR admin are invited (confirmation first: it sends an e-mail)
    invite(noxus, base, "nadia@noxus.example", "Nadia Rochat", "billing", None)
    invite(noxus, base, "claire@dubois.example", "Claire Dubois", "hr_admin", "Menuiserie Dubois")

    # the outbox goes out (the scheduler's job) to the local SMTP server; the outbox page lists the
    # invitations as sent but never shows their one-time links (whoever reads one owns the account)
    subprocess.run([*stack["cli"], "billing", "send"], env=stack["env"], check=True, capture_output=True)
    links = {}
    for to in ("nadia@noxus.example", "claire@dubois.example"):
        [mail] = [m for m in stack["inbox"].messages if "/invitation/" in m and f"To: {to}" in m]
        links[to] = re.search(r"(http://127\.0\.0\.1:\d+/invitation/[A-Za-z0-9_-]+)", mail).group(1)
    noxus.goto(f"{base}/billing/outbox?status=sent")
    noxus.click("main table tr:has-text('claire@dubois.example') a >> nth=0")
    assert "/invitation/…" in noxus.inner_text("#mail-body")
    assert links["claire@dubois.example"].rsplit("/", 1)[1] not in noxus.content()

    # the billing colleague lands on billing; the HR admin on HR
    billing = accept_invitation(
        browser, base, links["nadia@noxus.example"], "nadia@noxus.example", BILLING_PASSWORD, r".*/billing$"
    )
    hr = accept_invitation(
        browser,
        base,
        links["claire@dubois.example"],
        "claire@dubois.example",
        HR_PASSWORD,
        r".*/hr/employees.*",
    )

    # two employees and their badges
    employee_urls = {}
    for number, (first, last) in {"007": ("Léa", "Dupré"), "008": ("Marc", "Rossier")}.items():
        hr.goto(f"{base}/hr/employees")
        hr.fill("form[action='/hr/employees'] input[name=first_name]", first)
        hr.fill("form[action='/hr/employees'] input[name=last_name]", last)
        hr.fill("form[action='/hr/employees'] input[name=personnel_number]", number)
        hr.click("form[action='/hr/employees'] button")
        hr.wait_for_url(re.compile(r".*/hr/employees/\d+.*msg=employee_created.*"))
        assert last in hr.inner_text("main")
        employee_urls[number] = hr.url.split("?")[0]
        hr.goto(f"{base}/hr/badges")
        hr.fill("form.card[action='/hr/badges'] input[name=uid]", UIDS[number])
        hr.select_option("form.card[action='/hr/badges'] select[name=employee_id]", label=f"{last} {first}")
        hr.click("form.card[action='/hr/badges'] button")
        hr.wait_for_load_state()
        assert UIDS[number] in hr.inner_text("#badges")

    # the kiosk taps each badge twice (IN, OUT) and drains its journal over MQTT
    cfg = write_config(
        tmp_path / "K-J1",
        "K-J1",
        stack["broker"].port,
        uids=list(UIDS.values()),
        taps=4,
        poll_ms=5,
        cooldown_ms=0,
        gap_polls=50,
        kiosk_no=1,
        quiet=True,
        exit_when_drained=True,
    )
    kiosk = spawn(cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert kiosk.wait(120) == 0
    wait_for_page(
        hr,
        f"{base}/hr/punches",
        lambda p: (
            p.inner_text("#punches").count("Dupré") == 2 and p.inner_text("#punches").count("Rossier") == 2
        ),
        "four punches on the punches page",
    )
    punch_day = re.search(r"(\d{2})\.(\d{2})\.(\d{4})", hr.inner_text("#punches"))
    day = date(int(punch_day.group(3)), int(punch_day.group(2)), int(punch_day.group(1)))

    # Léa's timesheet shows the day of her punches
    hr.goto(f"{employee_urls['007']}?month={day:%Y-%m}")
    assert hr.locator(f"#timesheet #day-{day.isoformat()}").count() == 1
    assert re.search(r"\d{1,2}:\d{2}", hr.inner_text(f"#day-{day.isoformat()}"))

    # the timesheet export (CSV for Swiss Excel) carries both employees' day
    hr.goto(f"{base}/hr/exports")
    hr.select_option("#export-format", "csv")
    with hr.expect_download() as dl:
        hr.click("#export-submit")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert any("007" in row and "Dupré" in row for row in rows[1:]), rows[:3]
    assert any("008" in row and "Rossier" in row for row in rows[1:]), rows[:3]
    hr.screenshot(path=os.environ.get("NOXUS_SCREENSHOT", str(tmp_path / "hr.png")), full_page=True)

    # NOXUS billing runs the month: drafts, review, issue
    period = f"{start:%Y-%m}"
    billing.goto(f"{base}/billing")
    billing.fill("form[action='/billing/run'] input[name=period]", period)
    billing.click("form[action='/billing/run'] button")
    billing.wait_for_url(re.compile(r".*/billing/drafts\?.*"))
    assert "Menuiserie Dubois" in billing.inner_text("main")
    billing.click("main table a[href^='/billing/invoices/'] >> nth=0")
    billing.wait_for_url(re.compile(r".*/billing/invoices/\d+$"))
    invoice_url = billing.url
    lines = billing.inner_text("main table")
    # set-up fee, one whole month of subscription, one kiosk; no user beyond the 10 included
    assert "1’200.00" in lines or "1'200.00" in lines, lines
    assert "120.00" in lines and "4.50" in lines, lines
    billing.click("form[action='/billing/drafts/issue'] button")
    confirm(billing)
    billing.wait_for_url(re.compile(r".*/billing/invoices\?.*"))
    billing.goto(invoice_url)
    reference = billing.inner_text("#invoice-reference").strip()
    total_shown = billing.inner_text("#invoice-total")

    # the invoice PDF, opened from the invoice page; its QR-bill pays exactly this invoice
    with billing.expect_response(re.compile(r".*/billing/documents/\d+$")) as opened:
        billing.click("#documents a[data-kind=invoice]")
    assert opened.value.ok and opened.value.header_value("content-type") == "application/pdf"
    # chromium shows it in its viewer, which keeps the bytes to itself: the same URL again, with
    # the same session, gives the document as saved from the viewer
    (payload,) = decode_qr(billing.context.request.get(opened.value.url).body())
    f = payload.replace("\r\n", "\n").split("\n")
    assert f[0:3] == ["SPC", "0200", "1"]
    # net 1'324.50, VAT 8.1 % 107.28, total 1'431.78 rounded to 1'431.80
    assert f[18:20] == ["1431.80", "CHF"], f[18:20]
    assert "1’431.80" in total_shown or "1'431.80" in total_shown, total_shown
    assert f[20:27] == ["S", "Menuiserie Dubois Sàrl", "Rue de la Gare", "12", "1630", "Bulle", "CH"]
    assert f[27] == "QRR" and f[28] == reference.replace(" ", "")
