"""HR tables: employees, badges, corrections, period locks and HR audit. Customers and sites
belong to the tenancy context (noxus.tenancy)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, UniqueConstraint
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
    __table_args__ = (
        UniqueConstraint("customer_id", "personnel_number", name="uq_employee_personnel_number"),
    )

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
    ADD = "add"  # a punch the kiosk never saw (forgotten badge, missing OUT)
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


# --- working time, holidays, absences, balances (issue 14) ---------------------------------------


class WorkSchedule(SQLModel, table=True):
    """An employee's contract from `valid_from` on, until the next row (docs/hr.md)."""

    __tablename__ = "hr_work_schedule"
    __table_args__ = (UniqueConstraint("employee_id", "valid_from", name="uq_hr_work_schedule_from"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    valid_from: date
    percent: int = Field(default=100, ge=0, le=100)
    weekly_minutes: int = Field(default=2520, ge=0, le=7 * 24 * 60)  # the company's full-time week
    working_days: str = Field(default="12345", max_length=7)  # ISO weekdays
    weekday_minutes: list | None = Field(default=None, sa_column=Column(JSON))  # Mon..Sun, overrides
    vacation_days: int = Field(default=20, ge=0, le=60)  # per year, full time
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OpeningBalance(SQLModel, table=True):
    """Balances at the start of tracking: days before `tracked_from` owe nothing."""

    __tablename__ = "hr_opening_balance"

    employee_id: int = Field(foreign_key="employee.id", primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    tracked_from: date
    overtime_minutes: int = 0
    vacation_days_x2: int = 0  # half days, so 12.5 days = 25 (never a float)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HRPolicy(SQLModel, table=True):
    """A customer's time rules; a customer without a row gets the defaults."""

    __tablename__ = "hr_policy"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    overtime_rule: str = Field(default="weekly", max_length=8)  # weekly | daily
    night_start: str = Field(default="23:00", max_length=5)
    night_end: str = Field(default="06:00", max_length=5)
    sunday_start: str = Field(default="23:00", max_length=5)  # on Saturday, for 24 h


class ExtraDay(SQLModel, table=True):
    """A customer's own day off (company holiday, half-day on 24 December)."""

    __tablename__ = "hr_extra_day"
    __table_args__ = (UniqueConstraint("customer_id", "day", name="uq_hr_extra_day"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    day: date
    name: str = Field(max_length=100)
    share: int = Field(default=100, ge=1, le=100)  # percent of the day off


class AbsenceKind(SQLModel, table=True):
    """An absence type of a customer; `code` of the Swiss defaults is translated, `name` overrides it."""

    __tablename__ = "hr_absence_type"
    __table_args__ = (UniqueConstraint("customer_id", "code", name="uq_hr_absence_type_code"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(default="", max_length=100)
    credits_target: bool = True
    consumes_vacation: bool = False
    paid: bool = True
    active: bool = True


class AbsenceRecord(SQLModel, table=True):
    """An absence entered by HR: whole days, half days (am/pm) or hours per day, over [first, last]."""

    __tablename__ = "hr_absence"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    type_id: int = Field(foreign_key="hr_absence_type.id")
    first: date = Field(index=True)
    last: date = Field(index=True)
    portion: str = Field(default="day", max_length=5)  # day | am | pm | hours
    minutes: int = Field(default=0, ge=0, le=24 * 60)
    reason: str = Field(default="", max_length=500)
    author: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=120)


class MonthTotals(SQLModel):
    """An employee's month in seconds: what a close stores and what the API shows."""

    year: int
    month: int
    worked_seconds: int
    target_seconds: int
    credited_seconds: int
    overtime_seconds: int
    night_seconds: int
    sunday_seconds: int
    balance_seconds: int  # the month's own balance


class MonthSnapshot(MonthTotals, table=True):
    """The totals a month was closed with: the only stored balance (the start of the next carry)."""

    __tablename__ = "hr_month_snapshot"
    __table_args__ = (UniqueConstraint("employee_id", "year", "month", name="uq_hr_month_snapshot"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    carried_seconds: int  # running balance at the end of the month
    vacation_taken_x2: int  # half days
    absences: dict | None = Field(default=None, sa_column=Column(JSON))  # code -> seconds
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExportJob(SQLModel, table=True):
    """An export run in the background: progress, then the file to download."""

    __tablename__ = "hr_export_job"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=20)  # payroll | annual
    params: dict | None = Field(default=None, sa_column=Column(JSON))
    state: str = Field(default="queued", max_length=10)  # queued | running | done | failed
    done: int = 0
    total: int = 0
    filename: str = Field(default="", max_length=200)
    media_type: str = Field(default="", max_length=120)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    error: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
