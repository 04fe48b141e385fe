"""Billing set-up in the web UI (/billing/plans, /billing/contracts, /billing/profiles): plans with
amounts typed as people type them, per-field messages that keep what was typed, a contract and its
kiosk set up from the pages and billed by the run, and the HR role refused with the HTML page."""

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from noxus.billing.models import BillingProfile, Contract, Invoice, InvoiceLine, LineKind, Plan, PlanVersion
from noxus.billing.run import run_month
from noxus.fleet.models import Kiosk
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session, select

from tests.billing.conftest import FakeMeter, billing_settings


@pytest.fixture
def client(staff_client):
    staff_client.follow_redirects = False
    return staff_client


@pytest.fixture
def customer(engine):
    """A customer on record since 2024 (address and contact complete) with one deployed kiosk."""
    with Session(engine) as s:
        c = Customer(
            name="Boulangerie Test SA",
            legal_name="Boulangerie Test SA",
            street="Rue du Four",
            house_num="3",
            postcode="1003",
            town="Lausanne",
            contact_name="Anne Pain",
            contact_email="compta@boulangerie.example",
            created_at=datetime(2024, 1, 10, tzinfo=UTC),
        )
        s.add(c)
        s.flush()
        site = Site(customer_id=c.id, name="Lausanne")
        s.add(site)
        s.flush()
        s.add(
            Kiosk(
                id="BT-K1",
                name="entrée",
                serial="SN-BT-1",
                status="deployed",
                customer_id=c.id,
                site_id=site.id,
            )
        )
        s.commit()
        return c.id


def plan_form(**kw):
    form = {
        "code": "STD",
        "name": "Standard",
        "effective_from": "2024-01-01",
        "monthly_fee": "1'234.50",
        "monthly_fee_per_kiosk": "15.00",
        "users_included": "10",
        "price_per_additional_user": "4.50",
        "setup_fee": "1234,50",
    }
    form.update(kw)
    return form


def test_a_plan_created_with_swiss_amounts_stores_centimes(client, engine):
    r = client.post("/billing/plans", data=plan_form())
    assert r.status_code == 303
    with Session(engine) as s:
        plan = s.exec(select(Plan).where(Plan.code == "STD")).one()
        v = s.exec(select(PlanVersion).where(PlanVersion.plan_id == plan.id)).one()
        assert (v.monthly_fee, v.monthly_fee_per_kiosk, v.price_per_additional_user, v.setup_fee) == (
            123450,
            1500,
            450,
            123450,
        )
    page = client.get("/billing/plans").text
    assert "<td>STD</td>" in page and "<td>Standard</td>" in page


def test_a_bad_amount_re_renders_with_its_message_and_keeps_the_plan_name(client, engine):
    r = client.post("/billing/plans", data=plan_form(name="Mon plan à moi", monthly_fee="abc"))
    assert r.status_code == 422
    assert 'data-field="monthly_fee"' in r.text
    assert 'value="Mon plan à moi"' in r.text and 'value="abc"' in r.text
    with Session(engine) as s:
        assert s.exec(select(Plan)).first() is None


def test_a_new_price_version_is_added_to_a_plan(client, engine):
    client.post("/billing/plans", data=plan_form())
    with Session(engine) as s:
        plan_id = s.exec(select(Plan.id)).one()
    r = client.post(
        f"/billing/plans/{plan_id}/versions", data={"effective_from": "2025-01-01", "monthly_fee": "130"}
    )
    assert r.status_code == 303
    dup = client.post(
        f"/billing/plans/{plan_id}/versions", data={"effective_from": "2025-01-01", "monthly_fee": "1"}
    )
    assert dup.status_code == 422 and 'data-field="effective_from"' in dup.text
    with Session(engine) as s:
        fees = s.exec(select(PlanVersion.monthly_fee).order_by(PlanVersion.effective_from)).all()
    assert fees == [123450, 13000]


def test_a_contract_set_up_on_the_pages_is_billed_by_the_run_with_its_kiosk(client, engine, customer):
    client.post("/billing/plans", data=plan_form(monthly_fee="49.00", setup_fee="250.00"))
    with Session(engine) as s:
        plan_id = s.exec(select(Plan.id)).one()
    form = {"customer_id": str(customer), "plan_id": str(plan_id), "start_date": "2024-02-01"}
    confirm = client.post("/billing/contracts", data=form)
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.text
    with Session(engine) as s:
        assert s.exec(select(Contract)).first() is None  # nothing before the confirmation
    assert client.post("/billing/contracts", data={**form, "confirmed": "1"}).status_code == 303
    with Session(engine) as s:
        contract = s.exec(select(Contract)).one()
        profile = s.exec(select(BillingProfile).where(BillingProfile.customer_id == customer)).one()
        assert profile.invoice_email == "compta@boulangerie.example"  # from the customer's record
    kiosk = {"kiosk_id": "BT-K1", "on": "2024-02-01"}
    assert client.post(f"/billing/contracts/{contract.id}/kiosks", data=kiosk).status_code == 200
    assert (
        client.post(f"/billing/contracts/{contract.id}/kiosks", data={**kiosk, "confirmed": "1"}).status_code
        == 303
    )
    assert "BT-K1" in client.get(f"/billing/contracts/{contract.id}").text

    with Session(engine) as s:
        result = run_month(s, date(2024, 2, 1), billing_settings(), meter=FakeMeter(), today=date(2024, 2, 1))
        assert not result.errors and len(result.created) == 1
        inv = s.get(Invoice, result.created[0])
        kinds = {
            line.kind: line.amount
            for line in s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id))
        }
    assert inv.customer_id == customer
    assert (
        kinds[LineKind.KIOSK] == 1500
        and kinds[LineKind.SUBSCRIPTION] == 4900
        and kinds[LineKind.SETUP] == 25000
    )


def test_a_contract_cannot_start_before_the_customer_exists(client, engine, customer):
    client.post("/billing/plans", data=plan_form(effective_from="2020-01-01"))
    with Session(engine) as s:
        plan_id = s.exec(select(Plan.id)).one()
    r = client.post(
        "/billing/contracts",
        data={
            "customer_id": str(customer),
            "plan_id": str(plan_id),
            "start_date": "2023-12-01",
            "confirmed": "1",
        },
    )
    assert r.status_code == 422 and 'data-field="start_date"' in r.text
    assert f'<option value="{plan_id}" selected>' in r.text  # the choice is kept
    empty = client.get("/billing/contracts").text
    assert '<option value="" selected>' in empty  # required selects start empty
    with Session(engine) as s:
        assert s.exec(select(Contract)).first() is None


def test_the_billing_profile_form_starts_from_the_customer_record_and_saves_after_confirmation(
    client, engine, customer
):
    page = client.get(f"/billing/profiles/{customer}").text
    assert 'value="Rue du Four"' in page and 'value="compta@boulangerie.example"' in page
    form = {
        "legal_name": "Boulangerie Test SA",
        "street": "Case postale",
        "house_num": "",
        "postcode": "1001",
        "town": "Lausanne",
        "country": "CH",
        "invoice_email": "factures@boulangerie.example",
        "contact_name": "Anne Pain",
        "contact_email": "anne@boulangerie.example",
        "contact_street": "Rue du Four",
        "contact_house_num": "3",
        "contact_postcode": "1003",
        "contact_town": "Lausanne",
        "contact_country": "CH",
    }
    assert client.post(f"/billing/profiles/{customer}", data=form).status_code == 200
    assert client.post(f"/billing/profiles/{customer}", data={**form, "confirmed": "1"}).status_code == 303
    bad = client.post(f"/billing/profiles/{customer}", data={**form, "town": ""})
    assert bad.status_code == 422 and 'data-field="town"' in bad.text
    with Session(engine) as s:
        assert s.exec(select(BillingProfile.invoice_email)).one() == "factures@boulangerie.example"


def test_an_hr_user_gets_the_html_403_page(noxus_app, login_as, customer):
    login_as("hr_admin", customer)
    c = TestClient(noxus_app, base_url="https://testserver", headers={"accept": "text/html"})
    for url in ("/billing/plans", "/billing/contracts", f"/billing/profiles/{customer}"):
        r = c.get(url)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert c.post("/billing/plans", data=plan_form()).status_code == 403
