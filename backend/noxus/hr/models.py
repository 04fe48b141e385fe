"""HR tables: employees, badges, corrections, period locks and HR audit. Customers and sites
belong to the tenancy context (noxus.tenancy)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

import noxus.tenancy.models  # noqa: F401  (the customer and site tables these refer to)
from noxus.core.types import BigIntPK, UTCDateTime, utcnow

# --- employees and badges ---------------------------------------------------------------------

class EmployeeBase(SQLModel):
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    personnel_number: str = Field(max_length=40)
    # Contract time per week in minutes (42 h = 2520): integer, never float.
    weekly_minutes: int = Field(default=2520, ge=0, le=7 * 24 * 60)
    active_from: date
    active_to: date | None = None
    # The site whose time zone the employee's days are counted in (None: the
    # customer's first site, else NOXUS_TIMEZONE).
    site_id: int | None = Field(default=None, foreign_key="site.id")


class Employee(EmployeeBase, table=True):
    __table_args__ = (UniqueConstraint("customer_id", "personnel_number", name="uq_employee_personnel_number"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BadgeState(StrEnum):
    ACTIVE = "active"
    LOST = "lost"
    REPLACED = "replaced"
    REVOKED = "revoked"


class Badge(SQLModel, table=True):
    """A card UID given to one employee for [valid_from, valid_to). Within a
    customer one UID belongs to at most one employee at any instant."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    uid: str = Field(max_length=20, index=True)  # uppercase hex, as the kiosk reads it
    employee_id: int = Field(foreign_key="employee.id", index=True)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default=BadgeState.ACTIVE, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- corrections, locks, audit ----------------------------------------------------------------

class CorrectionAction(StrEnum):
    ADD = "add"    # a punch the kiosk never saw (forgotten badge, missing OUT)
    MOVE = "move"  # a raw or added punch at another instant (also: fix an estimated time)
    VOID = "void"  # a raw or added punch that must not count (double tap, wrong person)


class PunchCorrection(SQLModel, table=True):
    """HR's change on top of the immutable raw punches. A move/void targets
    either a raw punch (punch_id) or an earlier add (target_id); the latest
    correction of a target wins."""

    __tablename__ = "punch_correction"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    action: str = Field(max_length=8)
    punch_id: int | None = Field(default=None, foreign_key="punch.id", sa_type=BigInteger)
    target_id: int | None = Field(default=None, foreign_key="punch_correction.id", sa_type=BigInteger)
    ts: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the new instant (add, move)
    author: str = Field(max_length=120)
    reason: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PeriodLock(SQLModel, table=True):
    """A closed (locked) calendar month of a customer; reopening keeps the row
    (closed=False) and the audit log keeps the history."""

    __tablename__ = "period_lock"
    __table_args__ = (UniqueConstraint("customer_id", "year", "month", name="uq_period_lock_month"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    year: int
    month: int
    closed: bool = True
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_by: str = Field(max_length=120)
    reopened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_by: str | None = Field(default=None, max_length=120)
    reopen_reason: str | None = Field(default=None, max_length=500)


class HRAuditEvent(SQLModel, table=True):
    """Every change HR makes (employees, badges, corrections, locks): who, what, when."""

    __tablename__ = "hr_audit"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=40)  # employee.create, badge.assign, correction.add, month.reopen...
    entity: str = Field(max_length=40)
    entity_id: int | None = Field(default=None, sa_type=BigInteger)
    detail: dict | None = Field(default=None, sa_column=Column(JSON))
