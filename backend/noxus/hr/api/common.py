"""Service errors to HTTP: 404 / 409 / 422 with the service's message."""

from contextlib import contextmanager

from fastapi import HTTPException

from noxus.hr.errors import HRError


@contextmanager
def http_errors():
    try:
        yield
    except HRError as e:
        raise HTTPException(e.status_code, detail=str(e)) from None
