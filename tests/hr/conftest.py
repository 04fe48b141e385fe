"""HR fixtures: a migrated database (SQLite and PostgreSQL) with two customers,
and helpers to create employees, badges and raw punches as the ingest stores them."""

import itertools
import os
import shutil
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.fleet.models import Kiosk
from noxus.hr.models import Badge, Customer, Employee, Site
from noxus.ingest.models import Punch

PG_ADMIN_URL = os.environ.get("NOXUS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
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

    def employee(self, customer=None, first="Anne", last="Muller", number=None, weekly_minutes=2520,
                 uid=None, since=datetime(2020, 1, 1, tzinfo=UTC)) -> Employee:
        customer = customer or self.a
        e = Employee(customer_id=customer.id, first_name=first, last_name=last,
                     personnel_number=number or f"P{next(_seq)}", weekly_minutes=weekly_minutes,
                     active_from=date(2020, 1, 1))
        self.s.add(e)
        self.s.flush()
        if uid:
            self.s.add(Badge(customer_id=customer.id, uid=uid, employee_id=e.id, valid_from=since))
            self.s.flush()
        return e

    def punch(self, uid: str, ts: datetime | None, kiosk="K1", received_at=None, boot=None, uptime_ms=None):
        p = Punch(kiosk_id=kiosk, seq=next(_seq), badge_uid=uid, ts=ts, boot=boot, uptime_ms=uptime_ms,
                  received_at=received_at or ts or datetime.now(UTC))
        self.s.add(p)
        self.s.flush()
        return p


# Migrating a database takes seconds (every context's migrations): HR tests
# migrate one template per backend per run and copy it for each test.

@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("hr_template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_database():
    """One migrated PostgreSQL database for the run; each test empties it (TRUNCATE)."""
    name = "noxus_hr_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty database of the test's own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "noxus.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_pg_database")
    eng = create_engine(url)
    with eng.begin() as c:
        tables = c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                "AND tablename <> 'alembic_version'")).scalars().all()
        c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    eng.dispose()
    return url


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session) -> World:
    w = World(session)
    session.commit()
    return w
