"""Dated kiosk deployments follow every install, move and retrieval, so the
customer a kiosk served at any past instant stays known."""

from datetime import UTC, datetime

from noxus.fleet import deployments, service
from noxus.fleet.models import KioskCreate, KioskStatus
from noxus.fleet.retrieval import RetrievalStep, mark_retrieval_eligible
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session


def t(day, hour=12):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_install_move_to_another_customer_and_retrieval_leave_dated_deployments(engine, site):
    a, site_a = site
    with Session(engine) as s:
        b = Customer(name="Beta Sàrl")
        s.add(b)
        s.flush()
        site_b = Site(customer_id=b.id, name="Genève")
        s.add(site_b)
        s.flush()
        service.register(s, KioskCreate(id="K1"), actor="anna")
        first = deployments.deploy(s, "K1", site_a, "tech paul", at=t(1))
        assert (first.customer_id, first.site_id, first.valid_from, first.valid_to) == (a, site_a, t(1), None)
        mark_retrieval_eligible(
            s, RetrievalStep(a, "overdue")
        )  # status changes, place does not: same deployment
        assert len(deployments.history(s, "K1")) == 1
        deployments.deploy(s, "K1", site_a, "billing", at=t(10), reason="debt paid")
        deployments.deploy(s, "K1", site_b.id, "tech paul", at=t(15), reason="moved to Beta")
        closed = deployments.undeploy(s, "K1", "tech paul", at=t(28))
        s.commit()
        rows = [(d.customer_id, d.valid_from, d.valid_to) for d in deployments.history(s, "K1")]
        assert rows == [(a, t(1), t(15)), (b.id, t(15), t(28))]
        assert closed.customer_id == b.id
        spans = deployments.intervals(s, ["K1"])["K1"]
        assert deployments.customer_at(spans, t(14, 23)).customer_id == a
        assert deployments.customer_at(spans, t(15)).customer_id == b.id
        assert deployments.customer_at(spans, t(29)) is None
        assert deployments.customer_at(spans, datetime(2026, 2, 1, tzinfo=UTC)) is None
        assert list(deployments.intervals(s, ["K1"], lo=t(20), hi=t(21))["K1"]) == spans[1:]
        assert s.get(service.Kiosk, "K1").status == KioskStatus.RETRIEVED
