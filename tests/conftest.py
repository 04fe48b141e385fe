"""Shared fixtures: a private Mosquitto, SQLite and PostgreSQL databases
migrated with Alembic. PostgreSQL tests skip visibly when no server answers."""

import os
import pathlib
import uuid

import pytest
from sqlalchemy import create_engine, text

from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.devstack.broker import Mosquitto

PG_ADMIN_URL = os.environ.get("NOXUS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2}).connect() as c:
            c.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


PG = _pg_available()


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


@pytest.fixture
def pg_url():
    if not PG:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = "noxus_t_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
