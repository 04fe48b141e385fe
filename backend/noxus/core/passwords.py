"""Password hashing: argon2id through pwdlib. The cost comes from settings; a stored hash with
other parameters is upgraded at the next successful log-in (verify_and_update)."""

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from pwdlib.hashers.argon2 import Argon2Hasher

from noxus.core.settings import get_settings


@lru_cache
def hasher() -> PasswordHash:
    s = get_settings()
    return PasswordHash((Argon2Hasher(memory_cost=s.argon2_memory_kib, time_cost=s.argon2_time_cost),))


@lru_cache
def _dummy() -> str:
    return hasher().hash("timing-equaliser")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(ok, new_hash): new_hash is set when the stored hash should be upgraded."""
    if not stored:
        # same work as a real check, so unknown users do not answer faster
        hasher().verify(password, _dummy())
        return False, None
    try:
        return hasher().verify_and_update(password, stored)
    except PwdlibError:  # unknown or malformed hash in the database: a wrong password
        return False, None
