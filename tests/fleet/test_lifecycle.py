"""The asset life cycle: every status change is allowed by one table and
recorded with who did it, when and why."""

from datetime import UTC, datetime

import pytest
from noxus.fleet import service
from noxus.fleet.models import Kiosk, KioskCreate, KioskStatus
from noxus.fleet.retrieval import RetrievalStep, mark_retrieval_eligible
from noxus.fleet.status import TransitionError, change_status, history
from sqlmodel import Session

S = KioskStatus


def test_kiosk_goes_from_stock_to_customer_and_back_with_full_history(engine, site):
    customer_id, site_id = site
    visit = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with Session(engine) as s:
        k = service.register(s, KioskCreate(id="K1", serial="E66118604B1F2A2B", model="pico-w"), actor="anna")
        change_status(s, k, S.DEPLOYED, "tech paul", site_id=site_id, reason="installed at entrance")
        assert (k.customer_id, k.site_id, k.installed_at is not None) == (customer_id, site_id, True)
        assert mark_retrieval_eligible(
            s, RetrievalStep(customer_id, "invoice 2026-0042 two months overdue")
        ) == ["K1"]
        change_status(s, k, S.RETRIEVAL_SCHEDULED, "billing", scheduled_for=visit)
        change_status(s, k, S.RETRIEVED, "tech paul")
        change_status(s, k, S.IN_STOCK, "anna", reason="refurbished")
        s.commit()
        events = history(s, "K1")
        k = s.get(Kiosk, "K1")
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "in_stock"),
        ("in_stock", "deployed"),
        ("deployed", "retrieval_eligible"),
        ("retrieval_eligible", "retrieval_scheduled"),
        ("retrieval_scheduled", "retrieved"),
        ("retrieved", "in_stock"),
    ]
    assert [e.actor for e in events] == ["anna", "tech paul", "billing", "billing", "tech paul", "anna"]
    assert events[1].site_id == site_id and events[2].reason.startswith("invoice 2026-0042")
    assert events[3].scheduled_for == visit
    assert (k.status, k.owner, k.customer_id, k.site_id) == ("in_stock", "NOXUS", None, None)
    assert k.retrieved_at is not None


def test_a_kiosk_in_stock_cannot_be_retrieved_and_the_error_names_the_allowed_steps(engine):
    with Session(engine) as s:
        k = service.register(s, KioskCreate(id="K1"))
        with pytest.raises(TransitionError, match="allowed next: broken, deployed, lost"):
            change_status(s, k, S.RETRIEVED, "anna")


def test_deploying_needs_an_existing_site_and_takes_the_customer_from_it(engine, site):
    customer_id, site_id = site
    with Session(engine) as s:
        k = service.register(s, KioskCreate(id="K1"))
        with pytest.raises(TransitionError, match="needs site_id"):
            change_status(s, k, S.DEPLOYED, "anna")
        with pytest.raises(TransitionError, match="site 999 does not exist"):
            change_status(s, k, S.DEPLOYED, "anna", site_id=999)
        with pytest.raises(TransitionError, match="belongs to customer"):
            change_status(s, k, S.DEPLOYED, "anna", site_id=site_id, customer_id=customer_id + 1)
        change_status(s, k, S.DEPLOYED, "anna", site_id=site_id)
        assert k.customer_id == customer_id


def test_paid_debt_returns_flagged_kiosks_to_deployed_at_the_same_site(engine, site):
    customer_id, site_id = site
    with Session(engine) as s:
        k = service.register(s, KioskCreate(id="K1"))
        change_status(s, k, S.DEPLOYED, "anna", site_id=site_id)
        mark_retrieval_eligible(s, RetrievalStep(customer_id, "overdue"))
        change_status(s, k, S.DEPLOYED, "billing", reason="paid")
        s.commit()
        assert (k.status, k.site_id) == ("deployed", site_id)


def test_ingest_auto_registration_keeps_working_and_starts_in_stock(engine):
    with Session(engine) as s:
        k = service.register(s, KioskCreate(id="K7", name="auto-registered"))
        s.commit()
        assert k.status == "in_stock" and history(s, "K7")[0].actor == "system"
