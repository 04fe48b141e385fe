"""Column types shared by every context."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stored in UTC, always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(dt: datetime | str) -> datetime:
    """`dt` as a UTC-aware datetime. UTCDateTime columns come back aware, but SQLite
    returns naive datetimes for values that did not pass through it, and aggregates
    of datetimes (min, max) as text."""
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class _Stored(Protocol):
    id: int | None


def stored_ids(ids: Iterable[int | None]) -> list[int]:
    """Keys read back from the database: never NULL (the column is Optional for unsaved rows)."""
    return [i for i in ids if i is not None]


def id_of(row: _Stored) -> int:
    """The primary key of a stored row: SQLModel types `id` as `int | None` because a
    row has none before it is flushed; past that point a missing id is a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id
