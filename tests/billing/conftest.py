"""Billing fixtures: a migrated database (SQLite and PostgreSQL), customers with billing
profiles, a plan with a versioned price list, contracts, and a fake meter (active users per
customer and month) standing in for noxus.hr.metering where a test sets the counts itself."""

from datetime import date

import pytest
from noxus.billing.models import BillingProfile, Contract, ContractKiosk
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session

from tests.support.billing import standard_plan


class FakeMeter:
    """Active users as the test says: counts[(customer_id, year, month)]."""

    def __init__(self):
        self.counts: dict[tuple[int, int, int], int] = {}

    def set(self, customer_id: int, year: int, month: int, users: int) -> None:
        self.counts[(customer_id, year, month)] = users

    def __call__(self, session, customer_ids, year, month, mode="punched") -> dict[int, int]:
        return {cid: self.counts.get((cid, year, month), 0) for cid in customer_ids}


def billing_settings(**overrides) -> Settings:
    return Settings(_env_file=None, **overrides)


def issued_run(session, period: date, settings: Settings, *, today: date | None = None, **kw):
    """The monthly run with every draft issued at once, dated `today` (default: the 1st of the
    period), as the daily job does with NOXUS_BILLING_AUTO_ISSUE_DAYS=0."""
    from noxus.billing.run import month_start, run_month

    return run_month(session, period, settings, issue=True, today=today or month_start(period), **kw)


def pay_in_full(session, invoice_id: int, on: date):
    """The customer pays the invoice's whole balance (a manual payment, committed)."""
    from noxus.billing import payments
    from noxus.billing.models import Invoice

    inv = session.get(Invoice, invoice_id)
    payment = payments.record(
        session,
        bank_ref=f"B{invoice_id}",
        amount=inv.balance,
        value_date=on,
        source="manual",
        invoice_id=inv.id,
    )
    session.commit()
    return payment


class Books:
    """Builds billing data the way staff would enter it."""

    def __init__(self, session: Session):
        self.s = session
        self.plan = standard_plan(session)

    def customer(
        self, name: str, *, start: date, kiosks: int = 1, language: str = "fr", **contract_kw
    ) -> tuple[Customer, Contract]:
        c = Customer(name=name, language=language)
        self.s.add(c)
        self.s.flush()
        site = Site(customer_id=c.id, name=f"{name} Lausanne")
        self.s.add(site)
        self.s.add(
            BillingProfile(
                customer_id=c.id,
                legal_name=name,
                street="Avenue de la Gare",
                house_num="10",
                postcode="1003",
                town="Lausanne",
                invoice_email=f"compta@c{c.id}.example",
                language=language,
                contact_name=f"Contact {name}",
                contact_email=f"contact@c{c.id}.example",
                contact_street="Rue du Lac",
                contact_house_num="2",
                contact_postcode="1800",
                contact_town="Vevey",
            )
        )
        contract = Contract(customer_id=c.id, plan_id=self.plan.id, start_date=start, **contract_kw)
        self.s.add(contract)
        self.s.flush()
        for n in range(1, kiosks + 1):
            k = Kiosk(
                id=f"C{c.id}K{n}",
                name=f"kiosk {n}",
                serial=f"SN-{c.id:03d}-{n}",
                status="deployed",
                customer_id=c.id,
                site_id=site.id,
            )
            self.s.add(k)
            self.s.flush()
            self.s.add(ContractKiosk(contract_id=contract.id, kiosk_id=k.id, attached_on=start))
        self.s.flush()
        return c, contract

    def second_contract(self, customer: Customer, *, start: date) -> Contract:
        """Another contract of the customer, with a kiosk of its own (K9)."""
        from noxus.billing.contracts import attach_kiosk

        contract = Contract(customer_id=customer.id, plan_id=self.plan.id, start_date=start)
        self.s.add(contract)
        self.s.add(Kiosk(id=f"C{customer.id}K9", name="k9", status="deployed", customer_id=customer.id))
        self.s.flush()
        attach_kiosk(self.s, contract, f"C{customer.id}K9", start)
        return contract


# --- migrated databases, fast: one migrated template per backend, copied for each test -------------


@pytest.fixture
def books(session) -> Books:
    b = Books(session)
    session.commit()
    return b


@pytest.fixture
def meter() -> FakeMeter:
    return FakeMeter()


@pytest.fixture
def settings() -> Settings:
    return billing_settings()
