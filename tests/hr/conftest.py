"""HR fixtures: a migrated database (SQLite and PostgreSQL) with two customers,
and helpers to create employees, badges and raw punches as the ingest stores them."""

import itertools
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from noxus.fleet.models import Kiosk
from noxus.hr.models import Badge, Employee
from noxus.ingest.models import Punch
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session

ZH = ZoneInfo("Europe/Zurich")
_seq = itertools.count(1)


def zh(y, mo, d, h=0, mi=0) -> datetime:
    """A Europe/Zurich wall-clock time as a UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=ZH).astimezone(UTC)


class World:
    def __init__(self, session: Session):
        self.s = session
        self.kiosk = Kiosk(id="K1", name="entrance")
        session.add(self.kiosk)
        self.a = Customer(name="Alpha SA")
        self.b = Customer(name="Beta Sàrl")
        session.add_all([self.a, self.b])
        session.flush()
        self.site_a = Site(customer_id=self.a.id, name="Lausanne")
        self.site_b = Site(customer_id=self.b.id, name="Genève")
        session.add_all([self.site_a, self.site_b])
        session.flush()

    def employee(
        self,
        customer=None,
        first="Anne",
        last="Muller",
        number=None,
        weekly_minutes=2520,
        uid=None,
        since=datetime(2020, 1, 1, tzinfo=UTC),
    ) -> Employee:
        customer = customer or self.a
        e = Employee(
            customer_id=customer.id,
            first_name=first,
            last_name=last,
            personnel_number=number or f"P{next(_seq)}",
            weekly_minutes=weekly_minutes,
            active_from=date(2020, 1, 1),
        )
        self.s.add(e)
        self.s.flush()
        if uid:
            self.s.add(Badge(customer_id=customer.id, uid=uid, employee_id=e.id, valid_from=since))
            self.s.flush()
        return e

    def deploy(self, kiosk_id: str, customer, since=datetime(2020, 1, 1, tzinfo=UTC), until=None):
        """The kiosk served `customer` over [since, until) (noxus.fleet.deployments)."""
        from noxus.fleet.models import KioskDeployment

        kiosk = self.s.get(Kiosk, kiosk_id) or Kiosk(id=kiosk_id)
        if until is None:
            kiosk.customer_id = customer.id
        self.s.add(kiosk)
        self.s.add(
            KioskDeployment(kiosk_id=kiosk_id, customer_id=customer.id, valid_from=since, valid_to=until)
        )
        self.s.flush()

    def punch(self, uid: str, ts: datetime | None, kiosk="K1", received_at=None, boot=None, uptime_ms=None):
        p = Punch(
            kiosk_id=kiosk,
            seq=next(_seq),
            badge_uid=uid,
            ts=ts,
            boot=boot,
            uptime_ms=uptime_ms,
            received_at=received_at or ts or datetime.now(UTC),
        )
        self.s.add(p)
        self.s.flush()
        return p


@pytest.fixture
def world(session) -> World:
    w = World(session)
    session.commit()
    return w
