"""Working time, a pure computation (no database): the daily target from a
dated schedule, public and company holidays, absences, night and Sunday
time, overtime. docs/hr.md ("Working time and balances") explains the rules.

Durations are integer seconds; days are local dates of the employee's site."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

FULL, AM, PM, HOURS = "day", "am", "pm", "hours"
PORTIONS = (FULL, AM, PM, HOURS)


@dataclass(frozen=True)
class Schedule:
    """The contract from `valid_from` on (until the next schedule)."""

    valid_from: date
    percent: int = 100  # employment percentage, 0-100
    weekly_minutes: int = 2520  # full-time week of the company (42 h)
    working_days: str = "12345"  # ISO weekdays worked (1 = Monday)
    weekday_minutes: tuple[int, ...] | None = None  # the employee's own target Mon..Sun (not scaled)
    vacation_days: int = 20  # per year, full-time, five-day week

    def base_target(self, day: date) -> int:
        """Seconds owed on `day` before holidays and absences."""
        wd = day.isoweekday()
        if self.weekday_minutes:
            return self.weekday_minutes[wd - 1] * 60
        if str(wd) not in self.working_days or not self.working_days:
            return 0
        return self.weekly_minutes * 60 * self.percent // (100 * len(self.working_days))

    @property
    def days_per_week(self) -> int:
        if self.weekday_minutes:
            return sum(1 for m in self.weekday_minutes if m > 0)
        return len(self.working_days)


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str
    share: int = 100  # percent of the day that is off (50: a half day such as 24 December afternoon)


@dataclass(frozen=True)
class AbsenceType:
    code: str
    name: str
    credits_target: bool = True  # the time counts as if worked (else it stays owed: overtime compensation)
    consumes_vacation: bool = False
    paid: bool = True


@dataclass(frozen=True)
class Absence:
    kind: AbsenceType
    first: date
    last: date
    portion: str = FULL
    minutes: int = 0  # for HOURS: per day
    id: int | None = None

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass
class AbsenceDay:
    absence: Absence
    seconds: int  # the part of the day's target it covers
    vacation_days: float  # 1, 0.5 or hours/target


@dataclass
class DayPlan:
    day: date
    base_seconds: int = 0  # schedule target (0: not employed / not tracked / day off)
    target_seconds: int = 0  # after holidays
    holiday: str | None = None
    absences: list[AbsenceDay] = field(default_factory=list)

    @property
    def credited_seconds(self) -> int:
        return sum(a.seconds for a in self.absences if a.absence.kind.credits_target)


def schedule_on(schedules: list[Schedule], day: date) -> Schedule | None:
    current = None
    for s in schedules:  # sorted by valid_from
        if s.valid_from <= day:
            current = s
        else:
            break
    return current


def plan(
    day: date,
    schedules: list[Schedule],
    start: date,
    end: date | None,
    holidays: dict[date, Holiday],
    absences: Iterable[Absence],
) -> DayPlan:
    """What is owed on one day. `start`/`end`: the first and last tracked day
    (employment start or the opening balance's date, employment end)."""
    p = DayPlan(day)
    if day < start or (end is not None and day > end):
        return p
    s = schedule_on(schedules, day)
    if s is None:
        return p
    p.base_seconds = s.base_target(day)
    h = holidays.get(day)
    if h is not None:
        p.holiday = h.name
        p.target_seconds = p.base_seconds * (100 - h.share) // 100
    else:
        p.target_seconds = p.base_seconds
    left = p.target_seconds
    for a in absences:
        if not a.covers(day) or left <= 0:
            continue
        if a.portion == FULL:
            sec = left
        elif a.portion in (AM, PM):
            sec = min(left, p.base_seconds // 2)
        else:
            sec = min(left, a.minutes * 60)
        left -= sec
        vac = 0.0
        if a.kind.consumes_vacation and p.base_seconds:
            share = sec / p.base_seconds
            vac = round(share, 2) if a.portion == HOURS else round(share * 2) / 2
        p.absences.append(AbsenceDay(a, sec, vac))
    return p


# --- night and Sunday time ----------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """Swiss labour law (ArG art. 10, 16, 18): night work 23:00-06:00, Sunday
    work from Saturday 23:00 to Sunday 23:00. Configurable per customer."""

    night_start: time = time(23, 0)
    night_end: time = time(6, 0)
    sunday_start: time = time(23, 0)  # on Saturday; the window lasts 24 hours


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> int:
    return max(0, int((min(a1, b1) - max(a0, b0)).total_seconds()))


# The windows of a local day as UTC instants, computed once per (day, zone, windows): an export
# asks for the same few dozen days for every shift of every employee, and comparing UTC
# datetimes is cheaper than comparing across zones.
@lru_cache(maxsize=8192)
def _night_window(d: date, zone: ZoneInfo, w: Windows) -> tuple[datetime, datetime]:
    nxt = d + timedelta(days=1) if w.night_end <= w.night_start else d
    return (
        datetime.combine(d, w.night_start, zone).astimezone(UTC),
        datetime.combine(nxt, w.night_end, zone).astimezone(UTC),
    )


@lru_cache(maxsize=8192)
def _sunday_window(d: date, zone: ZoneInfo, w: Windows) -> tuple[datetime, datetime]:
    return (
        datetime.combine(d, w.sunday_start, zone).astimezone(UTC),
        datetime.combine(d + timedelta(days=1), w.sunday_start, zone).astimezone(UTC),
    )


def night_seconds(start: datetime, end: datetime, zone: ZoneInfo, w: Windows) -> int:
    """Seconds of [start, end) (UTC instants) inside the night windows of the
    local calendar (true elapsed time, so DST nights count 1 h more or less)."""
    s, e = start.astimezone(zone), end.astimezone(zone)
    if (
        s.date() == e.date()
        and w.night_end <= w.night_start
        and w.night_end <= s.time()
        and e.time() <= w.night_start
        and s.utcoffset() == e.utcoffset()
    ):
        return 0  # a day shift between the morning and evening edges (most shifts): no window to look at
    total = 0
    d = s.date() - timedelta(days=1)
    last = e.date()
    while d <= last:
        w0, w1 = _night_window(d, zone, w)
        total += _overlap(start, end, w0, w1)
        d += timedelta(days=1)
    return total


def sunday_seconds(start: datetime, end: datetime, zone: ZoneInfo, w: Windows) -> int:
    s, e = start.astimezone(zone), end.astimezone(zone)
    if s.date() == e.date() and s.isoweekday() <= 5:
        return 0  # within one Monday-Friday: the window covers Saturday evening to Sunday only
    total = 0
    d = s.date() - timedelta(days=2)
    last = e.date()
    while d <= last:
        if d.isoweekday() == 6:  # Saturday: the window opens at sunday_start
            w0, w1 = _sunday_window(d, zone, w)
            total += _overlap(start, end, w0, w1)
        d += timedelta(days=1)
    return total


# --- overtime -----------------------------------------------------------------------------------

DAILY, WEEKLY = "daily", "weekly"


def overtime_seconds(days: list[tuple[date, int, int]], rule: str = WEEKLY) -> int:
    """Overtime of (day, counted, target) triples, counted = worked + credited.
    weekly: per ISO week (cut at the period's edges), what exceeds the week's
    target; daily: per day, what exceeds the day's target."""
    if rule == DAILY:
        return sum(max(0, c - t) for _, c, t in days)
    weeks: dict[tuple[int, int], list[int]] = {}
    for d, c, t in days:
        y, w, _ = d.isocalendar()
        acc = weeks.setdefault((y, w), [0, 0])
        acc[0] += c
        acc[1] += t
    return sum(max(0, c - t) for c, t in weeks.values())


def vacation_entitlement(schedules: list[Schedule], start: date, end: date | None, year: int) -> float:
    """Vacation days of `year`: each schedule's days per year, scaled to the
    employee's working days per week (days_per_week / 5) and to the part of
    the year it covers; rounded to half days."""
    y0, y1 = date(year, 1, 1), date(year, 12, 31)
    n = (y1 - y0).days + 1
    total = 0.0
    for i, s in enumerate(schedules):
        s0 = max(s.valid_from, start, y0)
        nxt = schedules[i + 1].valid_from - timedelta(days=1) if i + 1 < len(schedules) else y1
        s1 = min(nxt, y1, end or y1)
        if s1 < s0:
            continue
        total += s.vacation_days * s.days_per_week / 5 * ((s1 - s0).days + 1) / n
    return round(total * 2) / 2
