"""Tables of data protection: the hash-chained audit log, data-subject requests, breaches,
and each customer's retention policy."""

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from noxus.core.types import UTCDateTime, utcnow


class DataSubjectRequest(SQLModel, table=True):
    """nLPD art. 25-32 requests by a customer's employee (answered within 7 days, seed 003)."""

    __tablename__ = "dsr_request"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    employee_id: int | None = Field(default=None, index=True)  # no FK: survives anonymisation
    subject: str = Field(default="", max_length=200)  # how the requester identified themself
    kind: str = Field(max_length=16)  # access, rectification, erasure, objection, portability
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deadline_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default="open", max_length=16)  # open, in_progress, done, refused
    handled_by: str = Field(default="", max_length=160)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notes: str = Field(default="", max_length=4000)


class DataSubjectRequestCreate(SQLModel):
    customer_id: int | None = None  # customer users: their own
    employee_id: int | None = None
    subject: str = Field(default="", max_length=200)
    kind: str = Field(max_length=16)
    received_at: datetime | None = None
    notes: str = Field(default="", max_length=4000)


class DataSubjectRequestUpdate(SQLModel):
    status: str | None = Field(default=None, max_length=16)
    notes: str | None = Field(default=None, max_length=4000)


class DataSubjectRequestPublic(SQLModel):
    id: int
    customer_id: int
    employee_id: int | None
    subject: str
    kind: str
    received_at: datetime
    deadline_at: datetime
    status: str
    handled_by: str
    closed_at: datetime | None
    notes: str
    overdue: bool


class Breach(SQLModel, table=True):
    """Personal-data breaches; customers are notified within 72 h of detection (seed 004)."""

    id: int | None = Field(default=None, primary_key=True)
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    notify_deadline_at: datetime = Field(sa_type=UTCDateTime)
    description: str = Field(max_length=4000)
    customer_ids: list = Field(default_factory=list, sa_type=JSON)  # affected tenants
    status: str = Field(default="open", max_length=16)  # open, notified, closed
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by: str = Field(default="", max_length=160)


class BreachCreate(SQLModel):
    detected_at: datetime | None = None
    description: str = Field(min_length=1, max_length=4000)
    customer_ids: list[int] = Field(default_factory=list)


class BreachPublic(SQLModel):
    id: int
    detected_at: datetime
    notify_deadline_at: datetime
    description: str
    customer_ids: list[int]
    status: str
    notified_at: datetime | None
    recorded_by: str
    overdue: bool


class PrivacyPolicy(SQLModel, table=True):
    """Per-customer retention and contract-end choice; absent row = defaults (settings)."""

    __tablename__ = "privacy_policy"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    retention_years: int = 5  # time records: ArGV 1 art. 73 (5 years) is the default
    contract_end_action: str = Field(default="export", max_length=8)  # export | delete
    contract_ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PrivacyPolicyUpdate(SQLModel):
    retention_years: int | None = Field(default=None, ge=1, le=30)
    contract_end_action: str | None = Field(default=None, regex="^(export|delete)$")
    contract_ended_at: datetime | None = None


class PrivacyPolicyPublic(SQLModel):
    customer_id: int
    retention_years: int
    contract_end_action: str
    contract_ended_at: datetime | None
    purged_at: datetime | None
