"""Users, API tokens and web sessions (filled in by issue 9; resolution stubs for now)."""

from noxus.core.security import Principal


def principal_from_token(session, raw: str) -> Principal | None:
    return None


def principal_from_session(session, raw: str) -> Principal | None:
    return None


def csrf_matches(principal: Principal, sent: str | None) -> bool:
    return False
