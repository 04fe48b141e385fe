"""Customers and sites from the pages, the API and the CLI: validation per field in the page's
language with the typed values kept, nothing half-created, tenants kept apart, state and balance
from billing."""

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session, func, select

GOOD = {
    "name": "Menuiserie Dubois",
    "legal_name": "Menuiserie Dubois Sàrl",
    "vat_number": "CHE-107.787.577 TVA",
    "street": "Rue de la Gare",
    "house_num": "12",
    "postcode": "1630",
    "town": "Bulle",
    "country": "CH",
    "contact_name": "Claire Dubois",
    "contact_email": "claire@dubois.ch",
    "contact_phone": "",
    "language": "fr",
    "canton": "VD",
}


@pytest.fixture
def browser(noxus_app, login_as):
    login_as("billing")
    return TestClient(
        noxus_app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_billing_staff_create_a_customer_from_the_form_and_find_it_in_the_list(browser, engine):
    assert browser.get("/customers/new").status_code == 200
    r = browser.post("/customers/new", data={**GOOD, "name": "  Menuiserie Dubois  "})
    assert r.status_code == 303, r.text
    page = browser.get(r.headers["location"]).text
    assert "Menuiserie Dubois" in page and "CHE-107.787.577 TVA" in page
    with Session(engine) as s:
        c = s.exec(select(Customer)).one()
        assert c.name == "Menuiserie Dubois"  # trimmed
        assert (c.canton, c.language, c.postcode) == ("VD", "fr", "1630")
    listing = browser.get("/customers?q=bulle").text
    assert "Menuiserie Dubois" in listing
    assert "Menuiserie Dubois" not in browser.get("/customers?q=zurich").text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_vat_and_unknown_canton_say_so_per_field_in_german_and_keep_what_was_typed(browser, engine):
    bad = {**GOOD, "vat_number": "CHE-107.787.578", "canton": "XX", "contact_email": "claire"}
    r = browser.post("/customers/new?lang=de", data=bad)
    assert r.status_code == 422
    errors = dict(re.findall(r'data-field="(\w+)">([^<]+)<', r.text))
    assert set(errors) == {"vat_number", "canton", "contact_email"}
    assert "UID" in errors["vat_number"] and "Ziffern" in errors["vat_number"]
    assert "Kanton" in errors["canton"]
    assert 'value="CHE-107.787.578"' in r.text and 'value="Rue de la Gare"' in r.text  # typed values kept
    assert count(engine, Customer) == 0  # nothing half-created


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duplicate_name_and_whitespace_only_fields_are_refused(browser, engine):
    assert browser.post("/customers/new", data=GOOD).status_code == 303
    dup = browser.post("/customers/new?lang=fr", data={**GOOD, "name": "menuiserie DUBOIS"})
    assert dup.status_code == 422
    assert re.search(r'data-field="name">[^<]*existe déjà', dup.text)
    blank = browser.post("/customers/new?lang=fr", data={**GOOD, "name": "Autre", "legal_name": "   "})
    assert blank.status_code == 422 and 'data-field="legal_name">Ce champ est obligatoire.' in blank.text
    assert count(engine, Customer) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_required_selects_start_empty(browser):
    form = browser.get("/customers/new").text
    for name in ("language", "canton"):
        select_html = re.search(rf'<select id="f-{name}".*?</select>', form, re.DOTALL).group(0)
        assert re.search(r'<option value="" selected>', select_html)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_archiving_asks_first_then_hides_the_customer_and_restore_brings_it_back(browser, engine):
    cid = int(browser.post("/customers/new", data=GOOD).headers["location"].split("/")[2].split("?")[0])
    confirm = browser.get(f"/customers/{cid}/archive")
    assert confirm.status_code == 200 and f'action="/customers/{cid}/archive"' in confirm.text
    with Session(engine) as s:
        assert s.get(Customer, cid).archived_at is None  # the GET only asks
    assert browser.post(f"/customers/{cid}/archive").status_code == 303
    assert "Menuiserie Dubois" not in browser.get("/customers").text
    assert "Menuiserie Dubois" in browser.get("/customers?archived=true").text
    browser.post(f"/customers/{cid}/restore")
    assert "Menuiserie Dubois" in browser.get("/customers").text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sites_carry_canton_and_time_zone_and_a_bad_zone_is_a_field_message(browser, engine):
    cid = int(browser.post("/customers/new", data=GOOD).headers["location"].split("/")[2].split("?")[0])
    form = browser.get(f"/customers/{cid}/sites/new").text
    assert 'value="Europe/Zurich"' in form
    bad = browser.post(
        f"/customers/{cid}/sites/new?lang=en",
        data={"name": "Atelier", "canton": "FR", "timezone": "Europe/Zürich"},
    )
    assert bad.status_code == 422 and 'data-field="timezone">Unknown time zone' in bad.text
    ok = browser.post(
        f"/customers/{cid}/sites/new",
        data={"name": "Atelier", "canton": "fr", "address": "Bulle", "timezone": ""},
    )
    assert ok.status_code == 303
    with Session(engine) as s:
        site = s.exec(select(Site)).one()
        assert (site.canton, site.timezone, site.customer_id) == ("FR", "Europe/Zurich", cid)
    dup = browser.post(f"/customers/{cid}/sites/new", data={"name": "atelier", "canton": "FR"})
    assert dup.status_code == 422 and count(engine, Site) == 1


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_api_creates_validates_and_scopes_customers_and_sites(noxus_app, login_as, engine):
    c = TestClient(noxus_app, base_url="https://testserver")
    login_as("billing")
    r = c.post("/api/v1/customers", json=GOOD)
    assert r.status_code == 201, r.text
    a = r.json()["id"]
    assert c.post("/api/v1/customers", json=GOOD).status_code == 409
    assert c.post("/api/v1/customers", json={**GOOD, "name": "X", "vat_number": "CHE-1"}).status_code == 422
    b = c.post(
        "/api/v1/customers",
        json={**GOOD, "name": "Bäckerei Roth", "language": "de", "canton": "BE", "vat_number": None},
    ).json()["id"]
    site_a = c.post("/api/v1/sites", json={"customer_id": a, "name": "Atelier", "canton": "VD"}).json()["id"]
    assert c.patch(f"/api/v1/customers/{a}", json={"town": "Romont"}).json()["town"] == "Romont"
    # a customer's HR admin sees its own customer and sites only
    login_as("hr_admin", b)
    assert [x["id"] for x in c.get("/api/v1/customers").json()] == [b]
    assert c.get(f"/api/v1/customers/{a}").status_code == 404
    assert c.get(f"/api/v1/sites/{site_a}").status_code == 404
    assert c.get("/api/v1/sites", params={"customer_id": a}).json() == []
    assert c.patch(f"/api/v1/sites/{site_a}", json={"name": "x"}).status_code == 403
    assert c.post("/api/v1/customers", json={**GOOD, "name": "Z"}).status_code == 403


def _favre_owing_12345(s, reminder_level: int = 0, **profile):
    """A customer with a billing profile (`profile` on top) and one open invoice of CHF 123.45."""
    from noxus.billing.models import BillingProfile, Invoice

    cust = Customer(name="Boulangerie Favre", language="fr", canton="VD")
    s.add(cust)
    s.flush()
    s.add(
        BillingProfile(
            customer_id=cust.id,
            legal_name="Favre SA",
            street="Rue",
            postcode="1000",
            town="Lausanne",
            invoice_email="f@f.ch",
            contact_name="F",
            contact_email="f@f.ch",
            contact_street="Rue",
            contact_postcode="1000",
            contact_town="Lausanne",
            **profile,
        )
    )
    inv = Invoice(
        customer_id=cust.id,
        status="open",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 11),
        total=12345,
        reminder_level=reminder_level,
    )
    s.add(inv)
    s.flush()
    return cust, inv


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_list_shows_state_and_balance_from_billing(noxus_app, login_as, engine):
    with Session(engine) as s:
        _favre_owing_12345(s, overdue_state="overdue")
        s.commit()
    login_as("admin")
    c = TestClient(noxus_app, base_url="https://testserver", headers={"accept": "text/html"})
    page = c.get("/customers?lang=en").text
    assert "overdue" in page and "CHF\u00a0123.45" in page
    api = TestClient(noxus_app, base_url="https://testserver").get("/api/v1/customers").json()
    assert api[0]["account_state"] == "overdue" and api[0]["balance"] == 12345
    assert "en retard" in c.get("/customers?lang=fr").text
    assert "überfällig" in c.get("/customers?lang=de").text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_customer_in_first_reminder_reads_so_in_french_and_german_on_every_page_showing_its_state(
    noxus_app, login_as, engine
):
    from noxus.billing.models import Reminder

    with Session(engine) as s:
        cust, inv = _favre_owing_12345(s, reminder_level=1)
        for level in (1,):
            s.add(
                Reminder(
                    invoice_id=inv.id,
                    level=level,
                    issued_on=date(2026, 10, 10 + 10 * level),
                    fee=0,
                    interest=0,
                    amount_due=12345,
                )
            )
        s.commit()
        cid = cust.id
    login_as("admin")
    c = TestClient(noxus_app, base_url="https://testserver", headers={"accept": "text/html"})
    for lang, words in (("fr", "en rappel 1"), ("de", "in Mahnstufe 1"), ("en", "in reminder 1")):
        for url in ("/customers", f"/customers/{cid}", "/billing"):
            page = c.get(f"{url}?lang={lang}").text
            assert words in page, (lang, url)
            assert "reminder 1" not in page.replace("in reminder 1", ""), (lang, url)
    api = TestClient(noxus_app, base_url="https://testserver").get("/api/v1/customers").json()
    assert api[0]["account_state"] == "reminder 1"  # the API keeps the machine word


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_adds_lists_and_refuses_a_bad_uid(db_url, monkeypatch):
    from noxus.cli import app
    from noxus.core.settings import get_settings
    from typer.testing import CliRunner

    monkeypatch.setenv("NOXUS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    from noxus.core import db

    db.get_engine.cache_clear()
    run = CliRunner().invoke
    args = [
        "customer",
        "add",
        "Bäckerei Roth",
        "--legal-name",
        "Bäckerei Roth AG",
        "--street",
        "Marktgasse",
        "--postcode",
        "3011",
        "--town",
        "Bern",
        "--contact-name",
        "Hans Roth",
        "--contact-email",
        "hans@roth.ch",
        "--language",
        "de",
        "--canton",
        "BE",
    ]
    bad = run(app, [*args, "--vat-number", "CHE-107.787.578"])
    assert bad.exit_code == 2 and "vat_number" in bad.output
    ok = run(app, [*args, "--vat-number", "CHE-107.787.577 MWST"])
    assert ok.exit_code == 0, ok.output
    assert run(app, ["site", "add", "1", "Backstube", "--canton", "BE"]).exit_code == 0
    assert run(app, ["site", "add", "1", "Laden", "--canton", "QQ"]).exit_code == 2
    listing = run(app, ["customer", "list", "--search", "roth"])
    assert "Bäckerei Roth" in listing.output
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    get_settings.cache_clear()
