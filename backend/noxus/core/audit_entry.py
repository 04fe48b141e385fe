"""The table of the one audit log (noxus.core.audit): every context appends to it."""

from datetime import datetime

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from noxus.core.types import BigIntPK, UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """Append-only; `hash` = SHA-256 over the previous hash and this entry's canonical JSON
    (docs/privacy.md). `prev_hash` is unique, so two writers cannot fork the chain.

    Personal data (names, badge UIDs, free-text reasons about an employee) goes in `personal`,
    which the chain covers only through `personal_digest` = SHA-256(salt ‖ canonical JSON): erasing
    an employee replaces `personal` (salt included) by `{"erased": true}` and the chain still verifies."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=160)  # "username#id", "cli:<os user>", "system:<job>"
    action: str = Field(max_length=64)  # read, create, update, delete, export, erase, login...
    object_type: str = Field(max_length=64)  # employee, invoice, kiosk, user, role, ...
    object_id: str = Field(default="", max_length=64)
    customer_id: int | None = Field(default=None, index=True)
    detail: dict = Field(default_factory=dict, sa_type=JSON)
    personal: dict | None = Field(default=None, sa_type=JSON)
    personal_digest: str = Field(default="", max_length=64)
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)

    def shown(self) -> dict:
        """What a reader may see: the detail and the personal data (without its salt)."""
        personal = {k: v for k, v in (self.personal or {}).items() if k != "_salt"}
        return {**(self.detail or {}), **personal}


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    customer_id: int | None
    detail: dict
    personal: dict | None = None
    prev_hash: str
    hash: str
