"""What every HR route does: service errors to HTTP (404 / 409 / 422 with the service's
message), a change committed and returned as stored."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException
from sqlmodel import Session, SQLModel

from noxus.hr.errors import HRError

Row = TypeVar("Row", bound=SQLModel)


@dataclass
class Period:
    """The days [first, last] a timesheet route is asked for (?first=2026-03-01&last=2026-03-31)."""

    first: date
    last: date


PeriodQuery = Annotated[Period, Depends()]


@contextmanager
def http_errors():
    try:
        yield
    except HRError as e:
        raise HTTPException(e.status_code, detail=str(e)) from None


def stored(session: Session, row: Row) -> Row:
    """Commit the request's change; the row as the database has it (ids, defaults)."""
    session.commit()
    session.refresh(row)
    return row
