"""Who is calling: roles and the authenticated principal. Plain data, no dependency: accounts
(which makes principals) and security (which checks them) both import it, never each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    # NOXUS staff: see every customer
    ADMIN = "admin"
    BILLING = "billing"
    TECHNICIAN = "technician"
    # customer users: bound to one customer
    HR_ADMIN = "hr_admin"
    HR_VIEWER = "hr_viewer"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


STAFF_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.BILLING, Role.TECHNICIAN})
CUSTOMER_ROLES: frozenset[Role] = frozenset({Role.HR_ADMIN, Role.HR_VIEWER})
ALL_ROLES: frozenset[Role] = STAFF_ROLES | CUSTOMER_ROLES


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `customer_id` is None for NOXUS staff."""

    user_id: int | None
    username: str
    role: Role
    customer_id: int | None = None
    via: str = "token"  # "token" | "session" | "test"
    credential_id: int | None = None  # token or session row id, for revocation/audit
    csrf_token: str | None = field(default=None, repr=False)
    language: str | None = None  # the user's setting (None: customer's, else browser's)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.username}#{self.user_id}" if self.user_id is not None else self.username
