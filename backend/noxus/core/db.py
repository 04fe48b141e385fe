"""Engine and sessions. SQLite gets WAL and full sync: an ack is sent only for
what is on disk."""

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from noxus.core.settings import get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            import pathlib

            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def new_session() -> Session:
    """A session on the configured database for commands and jobs: `with new_session() as s:`."""
    return Session(get_engine())


def get_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session


def reserve_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` primary keys for rows a caller inserts in bulk with explicit ids, ascending, so the
    caller knows each row's id before the INSERT (lines pointing at their invoice, an audit chain
    in id order) without a RETURNING round trip per row.

    PostgreSQL: drawn from the column's sequence (never handed out twice). SQLite: after the
    largest id, which is safe because SQLite has one writer: the caller must already hold the
    write transaction (have written in it)."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n},
        ).scalars()
        return sorted(int(v) for v in rows)
    top = session.execute(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar_one()  # noqa: S608
    return list(range(int(top) + 1, int(top) + 1 + n))
