"""The kiosk fleet: NOXUS-owned kiosks, their online state and alerts."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from noxus.core.types import BigIntPK, UTCDateTime, utcnow


class KioskBase(SQLModel):
    id: str = Field(primary_key=True, max_length=32, regex=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = Field(default="", max_length=120)


class Kiosk(KioskBase, table=True):
    online: bool = False
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    boot: int | None = None
    firmware: str | None = Field(default=None, max_length=64)
    telemetry: dict | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KioskCreate(KioskBase):
    pass


class KioskPublic(KioskBase):
    online: bool
    last_seen: datetime | None
    boot: int | None
    firmware: str | None
    created_at: datetime


class KioskAlert(SQLModel, table=True):
    __tablename__ = "kiosk_alert"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", index=True, max_length=32)
    kind: str = Field(max_length=32)  # seq_gap, journal_fill, clock_skew, ...
    detail: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class KioskAlertPublic(SQLModel):
    id: int
    kiosk_id: str
    kind: str
    detail: str
    created_at: datetime
    resolved_at: datetime | None
