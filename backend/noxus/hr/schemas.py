"""API schemas (Create / Update / Public), separate from the tables."""

import re
from datetime import date, datetime

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from noxus.hr.models import EmployeeBase

UID_RE = re.compile(r"^[0-9A-F]{4,20}$")


def normalize_uid(uid: str) -> str:
    """Kiosks send uppercase hex; HR may type 04:a1:b2 or '04 A1 B2'."""
    clean = re.sub(r"[\s:.-]", "", uid).upper()
    if not UID_RE.match(clean):
        raise ValueError(f"badge UID {uid!r} must be 4-20 hexadecimal digits (e.g. 04A1B2C3)")
    return clean


class EmployeeCreate(EmployeeBase):
    customer_id: int | None = None  # staff must give it; customer users are pinned to theirs

    @model_validator(mode="after")
    def _period(self):
        if self.active_to is not None and self.active_to < self.active_from:
            raise ValueError("active_to is before active_from: swap them or leave active_to empty")
        return self


class EmployeeUpdate(SQLModel):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    weekly_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    active_to: date | None = None
    site_id: int | None = None


class EmployeePublic(EmployeeBase):
    id: int
    customer_id: int


class BadgeAssign(SQLModel):
    uid: str
    employee_id: int
    # Default: now. For an unknown badge, the first punch time, so that its past
    # punches are attributed to the employee.
    valid_from: datetime | None = None

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str) -> str:
        return normalize_uid(v)


class BadgeEnd(SQLModel):
    state: str = Field(description="lost, replaced or revoked")
    at: datetime | None = None


class BadgePublic(SQLModel):
    id: int
    customer_id: int
    uid: str
    employee_id: int
    valid_from: datetime
    valid_to: datetime | None
    state: str


class UnknownBadge(SQLModel):
    uid: str
    punches: int
    first_at: datetime
    last_at: datetime
    kiosks: list[str]


class CorrectionCreate(SQLModel):
    employee_id: int
    action: str = Field(description="add, move or void")
    punch_id: int | None = Field(default=None, description="raw punch to move/void")
    target_id: int | None = Field(default=None, description="earlier 'add' correction to move/void")
    ts: datetime | None = Field(default=None, description="new instant (add, move), with a zone")
    reason: str = Field(min_length=3, max_length=500)


class CorrectionPublic(SQLModel):
    id: int
    customer_id: int
    employee_id: int
    action: str
    punch_id: int | None
    target_id: int | None
    ts: datetime | None
    author: str
    reason: str
    created_at: datetime


class PeriodClose(SQLModel):
    customer_id: int | None = None
    year: int
    month: int = Field(ge=1, le=12)


class PeriodReopen(PeriodClose):
    reason: str = Field(min_length=3, max_length=500)


class PeriodPublic(SQLModel):
    customer_id: int
    year: int
    month: int
    closed: bool
    closed_at: datetime
    closed_by: str
    reopened_at: datetime | None
    reopened_by: str | None
    reopen_reason: str | None


class AuditPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    detail: dict | None


class PunchView(SQLModel):
    """A punch as HR sees it: raw (kiosk) and corrected side by side."""
    key: str
    punch_id: int | None
    correction_id: int | None
    kiosk_id: str | None
    raw_at: datetime | None
    at: datetime
    estimated: bool
    added: bool
    moved: bool
    voided: bool
    merged: bool
    direction: str


class ShiftView(SQLModel):
    start: datetime
    end: datetime | None
    status: str
    seconds: int


class DayView(SQLModel):
    day: date
    shifts: list[ShiftView]
    worked_seconds: int
    break_seconds: int
    target_seconds: int
    balance_seconds: int
    exceptions: list[str]


class WeekView(SQLModel):
    week: str
    worked_seconds: int
    break_seconds: int
    target_seconds: int
    balance_seconds: int


class TimesheetPublic(SQLModel):
    employee_id: int
    zone: str
    first: date
    last: date
    days: list[DayView]
    weeks: list[WeekView]
    punches: list[PunchView]
    worked_seconds: int
    break_seconds: int
    target_seconds: int
    balance_seconds: int


class ExceptionPublic(SQLModel):
    employee_id: int
    employee: str
    day: date
    code: str
