"""Scratch databases for one bench run: a SQLite file and, when the server
answers, a PostgreSQL database created for the run and dropped after it."""

import contextlib
import os
import pathlib
from collections.abc import Iterator

from noxus.core.migrate import upgrade
from noxus.fleet import service as fleet
from noxus.fleet.models import KioskCreate
from sqlalchemy import text
from sqlmodel import Session

from tests.support import pg

PG_ADMIN_URL = os.environ.get("NOXUS_BENCH_PG", pg.DEFAULT_ADMIN_URL)


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    return pg.unreachable(PG_ADMIN_URL)


@contextlib.contextmanager
def sqlite_db(workdir: pathlib.Path) -> Iterator[str]:
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    yield url


def postgres_db() -> contextlib.AbstractContextManager[str]:
    """A migrated database of the run's own on PG_ADMIN_URL's server, dropped afterwards."""
    return pg.scratch_database(PG_ADMIN_URL, "noxus_bench_", migrate=True)


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
