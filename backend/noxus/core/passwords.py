"""Password hashing: argon2id through pwdlib (its recommended parameters)."""

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError


@lru_cache
def hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(ok, new_hash): new_hash is set when the stored hash should be upgraded."""
    if not stored:
        # same work as a real check, so absent users do not answer faster
        hasher().verify(password, _DUMMY)
        return False, None
    try:
        return hasher().verify_and_update(password, stored)
    except PwdlibError:  # unknown or malformed hash in the database: treat as a wrong password
        return False, None


_DUMMY = PasswordHash.recommended().hash("timing-equaliser")
