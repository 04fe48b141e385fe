"""Scratch databases for one bench run: a SQLite file and, when the server
answers, a PostgreSQL database created for the run and dropped after it."""

import contextlib
import os
import pathlib
import uuid
from collections.abc import Iterator

from noxus.core.migrate import upgrade
from noxus.fleet import service as fleet
from noxus.fleet.models import KioskCreate
from sqlalchemy import create_engine, text
from sqlmodel import Session

PG_ADMIN_URL = os.environ.get("NOXUS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2}).connect() as c:
            c.execute(text("SELECT 1"))
        return None
    except Exception as e:  # any failure means: no PostgreSQL for this run
        return str(e).splitlines()[0]


@contextlib.contextmanager
def sqlite_db(workdir: pathlib.Path) -> Iterator[str]:
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    yield url


@contextlib.contextmanager
def postgres_db() -> Iterator[str]:
    name = "noxus_bench_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def register_kiosks(engine, ids: list[str]) -> None:
    with Session(engine) as s:
        for kiosk_id in ids:
            fleet.register(s, KioskCreate(id=kiosk_id, name="bench"))
        s.commit()


def server_version(engine) -> str:
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return "SQLite " + c.execute(text("select sqlite_version()")).scalar()
        return c.execute(text("show server_version")).scalar().split()[0].join(("PostgreSQL ", ""))
