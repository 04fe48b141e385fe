"""API schemas (Create / Update / Public), separate from the tables."""

import re
from datetime import date, datetime

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from noxus.hr.models import EmployeeBase, MonthTotals

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
    year: int = Field(ge=2000, le=2100)
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


# --- working time, absences, balances (issue 14) -------------------------------------------------
# Bounds are checked by the services (contracts.check_schedule, absences.validate) so that the
# message is in the reader's language, the same for the API and the pages.


class ScheduleCreate(SQLModel):
    valid_from: date
    percent: int = 100
    weekly_minutes: int = 2520
    working_days: str = "12345"
    weekday_minutes: list[int] | None = None
    vacation_days: int = Field(default=20, ge=0, le=60)


class SchedulePublic(ScheduleCreate):
    id: int
    employee_id: int


class OpeningBalanceSet(SQLModel):
    tracked_from: date
    overtime_minutes: int = 0
    vacation_days: float = 0.0


class OpeningBalancePublic(SQLModel):
    employee_id: int
    tracked_from: date
    overtime_minutes: int
    vacation_days_x2: int


class ExtraDayCreate(SQLModel):
    day: date
    name: str = Field(min_length=1, max_length=100)
    share: int = 100


class ExtraDayPublic(ExtraDayCreate):
    id: int
    customer_id: int


class PolicyUpdate(SQLModel):
    overtime_rule: str = "weekly"
    night_start: str = "23:00"
    night_end: str = "06:00"
    sunday_start: str = "23:00"


class AbsenceKindPublic(SQLModel):
    id: int
    code: str
    name: str
    credits_target: bool
    consumes_vacation: bool
    paid: bool


class AbsenceCreate(SQLModel):
    employee_id: int
    type_id: int
    first: date
    last: date
    portion: str = Field(default="day", description="day, am, pm or hours")
    minutes: int = Field(default=0, description="for hours: minutes of absence per day")
    reason: str = Field(default="", max_length=500)


class AbsencePublic(SQLModel):
    id: int
    customer_id: int
    employee_id: int
    type_id: int
    first: date
    last: date
    portion: str
    minutes: int
    reason: str
    author: str
    created_at: datetime


class AbsenceCancel(SQLModel):
    reason: str = Field(min_length=3, max_length=500)


class VacationPublic(SQLModel):
    year: int
    entitlement: float
    taken: float
    planned: float
    carried: float
    remaining: float


class MonthBalancePublic(MonthTotals):
    employee_id: int
    personnel_number: str
    carried_in_seconds: int
    carried_out_seconds: int
    absences: dict[str, int]
    vacation: VacationPublic


class ChecklistItem(SQLModel):
    kind: str  # exception | open_shift | unknown_badge | absence_overlap
    employee_id: int | None = None
    employee: str = ""
    day: date | None = None
    detail: str = ""


class PresentPublic(SQLModel):
    employee_id: int
    employee: str
    since: datetime
    kiosk_id: str | None
    site: str


class ExportJobPublic(SQLModel):
    id: int
    kind: str
    state: str
    done: int
    total: int
    filename: str
    error: str
    created_at: datetime
    finished_at: datetime | None
