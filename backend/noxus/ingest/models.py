"""Raw punches as the kiosks sent them (immutable facts), the per-kiosk ack
cursor, and the dead letters that could not be stored as punches."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from noxus.core.types import BigIntPK, UTCDateTime, utcnow


class Punch(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("kiosk_id", "epoch", "seq", name="uq_punch_kiosk_epoch_seq"),
        Index("ix_punch_badge_ts", "badge_uid", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    kiosk_id: str = Field(foreign_key="kiosk.id", max_length=32)
    # The kiosk journal's epoch (0: from before epochs): (kiosk, epoch, seq) is a punch's identity.
    epoch: int = Field(default=0, sa_type=BigInteger)
    seq: int = Field(sa_type=BigInteger)
    badge_uid: str = Field(max_length=20)
    kind: str = Field(default="punch", max_length=8)
    # UTC instant; None when the kiosk clock was unset (then boot + uptime_ms).
    ts: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    boot: int | None = Field(default=None, sa_type=BigInteger)
    uptime_ms: int | None = Field(default=None, sa_type=BigInteger)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PunchPublic(SQLModel):
    id: int
    kiosk_id: str
    epoch: int
    seq: int
    badge_uid: str
    kind: str
    ts: datetime | None
    estimated: bool
    boot: int | None
    uptime_ms: int | None
    received_at: datetime


class IngestCursor(SQLModel, table=True):
    """Per kiosk journal epoch: the highest seq up to which every seq is stored
    or written off (what the app ack says), and the counters."""

    __tablename__ = "ingest_cursor"

    kiosk_id: str = Field(primary_key=True, foreign_key="kiosk.id", max_length=32)
    epoch: int = Field(default=0, primary_key=True, sa_type=BigInteger)
    acked_seq: int = Field(default=0, sa_type=BigInteger)
    duplicates: int = Field(default=0, sa_type=BigInteger)
    lost: int = Field(default=0, sa_type=BigInteger)


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    topic: str = Field(max_length=512)
    payload: bytes = Field(sa_type=LargeBinary)
    reason: str


class DeadLetterPublic(SQLModel):
    id: int
    received_at: datetime
    topic: str
    payload_preview: str
    reason: str
