"""Shared fixtures: a private Mosquitto, SQLite and PostgreSQL databases
migrated with Alembic. PostgreSQL is the machine's server when it accepts a
password-less connection (NOXUS_TEST_PG), else a private one (tests/support/pg.py)."""

import os
import pathlib
import shutil

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
import pytest
from noxus.core.db import make_engine
from noxus.core.migrate import upgrade

from devstack.broker import Mosquitto
from tests.support import pg

# cheap argon2 for tests (production cost: docs/security.md); set before settings are first read
os.environ.setdefault("NOXUS_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("NOXUS_ARGON2_TIME_COST", "1")
# obviously fake creditor data: the app refuses to start with the shipped placeholders (billing/config.py)
for _name, _value in {
    "NAME": "Test Creditor (fake) SàRL",
    "STREET": "Teststrasse",
    "HOUSE_NUM": "1",
    "POSTCODE": "9999",
    "TOWN": "Testdorf",
    "COUNTRY": "CH",
    "VAT_NUMBER": "CHE-000.000.000 MWST (test)",
}.items():
    os.environ.setdefault(f"NOXUS_BILLING_{'CREDITOR_' if _name != 'VAT_NUMBER' else ''}{_name}", _value)
os.environ.setdefault("NOXUS_BILLING_IBAN", "CH6930999000000000001")  # a valid QR-IBAN of no bank account


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """One Mosquitto for tests that do not break it."""
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@pytest.fixture
def private_broker(tmp_path):
    """A Mosquitto of the test's own, to kill and restart."""
    b = Mosquitto(tmp_path / "mosquitto").start()
    yield b
    b.stop()


def sqlite_url(tmp_path: pathlib.Path) -> str:
    return f"sqlite:///{tmp_path / 'noxus.db'}"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """Admin URL of the PostgreSQL server of this run (the machine's, or a private one)."""
    return pg.admin_url()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url):
    """A PostgreSQL database migrated once per run; each test gets a copy
    (CREATE DATABASE … TEMPLATE takes ~0.1 s, migrating ~3 s)."""
    # upgrade() uses NullPool: no connection left open, as a template requires
    with pg.scratch_database(pg_admin_url, "noxus_tpl_", migrate=True) as url:
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def pg_url(pg_admin_url, pg_template):
    """A fresh PostgreSQL database, already at the latest schema."""
    with pg.scratch_database(pg_admin_url, template=pg_template) as url:
        yield url


def pytest_terminal_summary(terminalreporter):
    for note in pg.notes:
        terminalreporter.write_line(note)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> pathlib.Path:
    """A SQLite database migrated once per run; tests get a copy."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty database of the test's own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "noxus.db")
        return sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    """A session on the test database; what a test commits, the app under test sees."""
    from sqlmodel import Session

    with Session(engine) as s:
        yield s


# --- the web app against a test database, and authentication helpers (issue 9) ----------------


@pytest.fixture
def noxus_app(engine):
    """create_app() whose sessions use the test `engine` (SQLite and PostgreSQL)."""
    from noxus.core.db import get_session
    from noxus.main import create_app
    from sqlmodel import Session

    app = create_app()

    def _session():
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = _session
    return app


@pytest.fixture
def login_as(noxus_app):
    """login_as(role, customer_id=None): requests to `noxus_app` authenticate as that role
    (role rules and tenant scope still apply; tokens, sessions and CSRF are bypassed)."""
    from noxus.core.security import override_principal

    return lambda role, customer_id=None: override_principal(noxus_app, role, customer_id)


@pytest.fixture
def staff_client(noxus_app, login_as):
    """A TestClient authenticated as a NOXUS administrator (sees every customer)."""
    from fastapi.testclient import TestClient

    login_as("admin")
    return TestClient(noxus_app, base_url="https://testserver")


@pytest.fixture
def auth_headers(engine):
    """auth_headers(role, customer_id=None) -> {"Authorization": "Bearer ..."} for a real user
    and token created in the test database (end-to-end authentication)."""
    import itertools

    from noxus.core import accounts
    from noxus.core.users import UserCreate
    from sqlmodel import Session

    counter = itertools.count(1)

    def make(role, customer_id=None):
        role = getattr(role, "value", role)
        with Session(engine) as s:
            user = accounts.create_user(
                s,
                UserCreate(
                    username=f"{role}-{customer_id or 'staff'}-{next(counter)}",
                    role=role,
                    customer_id=customer_id if role in ("hr_admin", "hr_viewer") else None,
                ),
            )
            _, raw = accounts.create_token(s, user, "test")
            s.commit()
        return {"Authorization": f"Bearer {raw}"}

    return make
