"""The kiosk fleet: NOXUS-owned kiosks (the asset register), their status
history, online state, telemetry history and alerts."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

# Kiosk.customer_id/site_id point at tenancy's tables: a process that loads only the
# fleet models (an ingest worker) must still resolve those foreign keys.
import noxus.tenancy.models  # noqa: F401
from noxus.core.types import BigIntPK, UTCDateTime, utcnow

OWNER = "NOXUS"  # NOXUS terms §11.3: every kiosk stays NOXUS' property


class KioskStatus(StrEnum):
    IN_STOCK = "in_stock"
    DEPLOYED = "deployed"
    RETRIEVAL_ELIGIBLE = "retrieval_eligible"
    RETRIEVAL_SCHEDULED = "retrieval_scheduled"
    RETRIEVED = "retrieved"
    BROKEN = "broken"
    LOST = "lost"


class KioskBase(SQLModel):
    id: str = Field(primary_key=True, max_length=32, regex=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = Field(default="", max_length=120)


class Kiosk(KioskBase, table=True):
    # --- asset register -------------------------------------------------
    serial: str | None = Field(default=None, max_length=64, unique=True)  # flash unique ID / Pi serial
    model: str = Field(default="", max_length=64)  # e.g. "pico-w", "pi-zero-2w"
    owner: str = Field(default=OWNER, max_length=16)
    status: str = Field(default=KioskStatus.IN_STOCK, max_length=24, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    installed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retrieved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What staff expect the kiosk to run; None = no check (firmware_mismatch alert).
    firmware_target: str | None = Field(default=None, max_length=64)
    firmware_target_hash: str | None = Field(default=None, max_length=80)
    # --- as reported by the kiosk ---------------------------------------
    online: bool = False
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    boot: int | None = None
    firmware: str | None = Field(default=None, max_length=64)
    firmware_hash: str | None = Field(default=None, max_length=80)
    telemetry: dict | None = Field(default=None, sa_column=Column(JSON))
    last_telemetry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clock_skew_s: float | None = None  # kiosk clock minus backend clock, last sample
    # Reboot counting window (repeated_reboots alert), O(1) per birth.
    reboot_window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reboot_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KioskCreate(KioskBase):
    serial: str | None = Field(default=None, max_length=64)
    model: str = Field(default="", max_length=64)
    firmware_target: str | None = Field(default=None, max_length=64)
    firmware_target_hash: str | None = Field(default=None, max_length=80)


class KioskUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=120)
    serial: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    firmware_target: str | None = Field(default=None, max_length=64)
    firmware_target_hash: str | None = Field(default=None, max_length=80)


class KioskPublic(KioskBase):
    serial: str | None
    model: str
    owner: str
    status: str
    customer_id: int | None
    site_id: int | None
    installed_at: datetime | None
    retrieved_at: datetime | None
    firmware_target: str | None
    online: bool
    last_seen: datetime | None
    boot: int | None
    firmware: str | None
    firmware_hash: str | None
    clock_skew_s: float | None
    created_at: datetime


class KioskStatusEvent(SQLModel, table=True):
    """One row per status change (or move between sites): the full history,
    never updated. customer/site are the ones in force after the change."""

    __tablename__ = "kiosk_status_event"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", index=True, max_length=32)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    site_id: int | None = Field(default=None, foreign_key="site.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)  # when it happened
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)  # retrieval visit
    actor: str = Field(max_length=120)  # who did it (user, "billing", technician name)
    reason: str = Field(default="", max_length=500)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StatusChange(SQLModel):
    status: KioskStatus
    customer_id: int | None = None
    site_id: int | None = None
    at: datetime | None = None
    scheduled_for: datetime | None = None
    actor: str | None = Field(default=None, max_length=120)  # defaults to the logged-in user
    reason: str = Field(default="", max_length=500)


class KioskStatusEventPublic(SQLModel):
    id: int
    kiosk_id: str
    from_status: str | None
    to_status: str
    customer_id: int | None
    site_id: int | None
    at: datetime
    scheduled_for: datetime | None
    actor: str
    reason: str
    recorded_at: datetime


class KioskTelemetry(SQLModel, table=True):
    """Telemetry history. Raw samples (one a minute per kiosk) are folded into
    hourly rows after `fleet_telemetry_raw_hours`; hourly rows are kept
    `fleet_telemetry_keep_days`."""

    __tablename__ = "kiosk_telemetry"
    __table_args__ = (Index("ix_kiosk_telemetry_kiosk_res_at", "kiosk_id", "resolution", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", max_length=32)
    resolution: str = Field(default="raw", max_length=4)  # "raw" | "hour"
    at: datetime = Field(sa_type=UTCDateTime)  # sample time (hour start for "hour")
    samples: int = 1
    fill: float | None = None  # journal fill 0..1 (max over the hour)
    pending: int | None = None  # punches not yet acked (max)
    flash_free: int | None = Field(default=None, sa_type=BigInteger)  # bytes (min)
    clock_skew_s: float | None = None  # (largest absolute)
    boot: int | None = Field(default=None, sa_type=BigInteger)  # (last)
    uptime_ms: int | None = Field(default=None, sa_type=BigInteger)  # (last)


class TelemetryPoint(SQLModel):
    at: datetime
    resolution: str
    samples: int
    fill: float | None
    pending: int | None
    flash_free: int | None
    clock_skew_s: float | None
    boot: int | None
    uptime_ms: int | None


class KioskAlert(SQLModel, table=True):
    __tablename__ = "kiosk_alert"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", index=True, max_length=32)
    # offline, journal_fill, seq_gap, seq_reused, clock_skew, low_flash,
    # firmware_mismatch, repeated_reboots (docs/fleet.md)
    kind: str = Field(max_length=32)
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


class KioskDeployment(SQLModel, table=True):
    """Where a kiosk was, when: [valid_from, valid_to) at a customer's site.
    The source of truth for the tenancy of a punch (noxus.fleet.deployments);
    kept by every status change, never edited by hand."""

    __tablename__ = "kiosk_deployment"
    __table_args__ = (Index("ix_kiosk_deployment_kiosk_from", "kiosk_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", max_length=32)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: still there
    actor: str = Field(default="", max_length=120)


class KioskDeploymentPublic(SQLModel):
    id: int
    kiosk_id: str
    customer_id: int
    site_id: int | None
    valid_from: datetime
    valid_to: datetime | None
    actor: str


# --- enrollment (fleet/enrollment.py): kiosk MQTT accounts and claim codes ---------------------


class KioskCredential(SQLModel, table=True):
    """Who minted a kiosk's MQTT account and when; the password itself is never stored
    here (only its PBKDF2 hash, in Mosquitto's password file)."""

    __tablename__ = "prov_kiosk_credential"

    kiosk_id: str = Field(primary_key=True, foreign_key="kiosk.id", max_length=32)
    username: str = Field(max_length=64)
    minted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    minted_by: str = Field(max_length=120)
    mints: int = 1  # every enroll rerun rotates the password
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClaimStatus(StrEnum):
    PENDING = "pending"  # the kiosk shows its code and waits
    APPROVED = "approved"  # staff placed it at a site; credentials not yet fetched
    DELIVERED = "delivered"  # the kiosk fetched its credentials (once)
    SUPERSEDED = "superseded"  # expired and replaced by a newer code, or cancelled by staff


class KioskClaim(SQLModel, table=True):
    __tablename__ = "prov_kiosk_claim"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)  # sha256 of the normalised code
    board_uid: str = Field(max_length=64, index=True)
    model: str = Field(default="pico-w", max_length=16)
    status: str = Field(default=ClaimStatus.PENDING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    kiosk_id: str | None = Field(default=None, foreign_key="kiosk.id", max_length=32)
    approved_by: str | None = Field(default=None, max_length=120)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
