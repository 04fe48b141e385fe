"""Timesheets: attendance per employee per day, with week and period totals,
computed on demand from effective punches (nothing derived is stored, so a
late punch or a correction can never leave a stale total behind)."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from noxus.core.settings import Settings
from noxus.hr import attendance, effective
from noxus.hr.attendance import Day, EffectivePunch
from noxus.hr.errors import HRError
from noxus.hr.models import Employee


@dataclass
class Timesheet:
    employee: Employee
    zone: ZoneInfo
    first: date
    last: date
    days: list[Day]
    punches: list[EffectivePunch] = field(default_factory=list)

    @property
    def worked_seconds(self) -> int:
        return sum(d.worked_seconds for d in self.days)

    @property
    def break_seconds(self) -> int:
        return sum(d.break_seconds for d in self.days)

    @property
    def target_seconds(self) -> int:
        return sum(d.target_seconds for d in self.days)

    @property
    def balance_seconds(self) -> int:
        return self.worked_seconds - self.target_seconds

    @property
    def exceptions(self) -> list[tuple[date, str]]:
        return [(d.day, e) for d in self.days for e in d.exceptions]

    def weeks(self) -> list[dict]:
        """ISO weeks touched by the period (partial weeks only count their days)."""
        out: OrderedDict[str, dict] = OrderedDict()
        for d in self.days:
            y, w, _ = d.day.isocalendar()
            row = out.setdefault(f"{y}-W{w:02d}", {"week": f"{y}-W{w:02d}", "worked_seconds": 0,
                                                  "break_seconds": 0, "target_seconds": 0})
            row["worked_seconds"] += d.worked_seconds
            row["break_seconds"] += d.break_seconds
            row["target_seconds"] += d.target_seconds
        for row in out.values():
            row["balance_seconds"] = row["worked_seconds"] - row["target_seconds"]
        return list(out.values())


def check_period(first: date, last: date, settings: Settings) -> None:
    for d in (first, last):
        if not 2000 <= d.year <= 2100:
            raise HRError(f"{d} is out of range: give dates between 2000 and 2100")
    if last < first:
        raise HRError(f"the period ends ({last}) before it starts ({first}): swap the dates")
    n = (last - first).days + 1
    if n > settings.hr_max_period_days:
        raise HRError(f"the period has {n} days; at most {settings.hr_max_period_days} per request: "
                      "split it into months")


def compute(session: Session, customer_id: int, employees: list[Employee], first: date, last: date,
            settings: Settings, now: datetime | None = None) -> list[Timesheet]:
    """Timesheets of `employees` (all of `customer_id`) for local days [first, last]."""
    check_period(first, last, settings)
    now = now or datetime.now(UTC)
    cooldown, max_shift = effective.rules(settings)
    by_zone: dict[str, list[Employee]] = {}
    zones: dict[str, ZoneInfo] = {}
    cache: dict = {}
    for e in employees:
        z = effective.employee_zone(session, e, settings, cache)
        zones[z.key] = z
        by_zone.setdefault(z.key, []).append(e)
    sheets: dict[int, Timesheet] = {}
    for key, emps in by_zone.items():
        zone = zones[key]
        start, end = effective.local_range(zone, first, last)
        loaded = effective.load(session, customer_id, [e.id for e in emps], start, end, settings)
        for e in emps:
            punches = loaded.get(e.id, [])
            ds = attendance.days(punches, zone, first, last, e.weekly_minutes, cooldown, max_shift, now,
                                 active=(e.active_from, e.active_to))
            shown = sorted((p for p in punches if start <= p.at < end or (p.voided and p.raw_at and
                                                                         start <= p.raw_at < end)),
                           key=lambda p: (p.at, p.key))
            sheets[e.id] = Timesheet(e, zone, first, last, ds, shown)
    return [sheets[e.id] for e in employees]


def month_period(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise HRError(f"month must be 1-12, got {month}")
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def hours(seconds: int) -> str:
    """Duration as h:mm (negative balances keep their sign)."""
    sign = "-" if seconds < 0 else ""
    m = abs(seconds) // 60
    return f"{sign}{m // 60}:{m % 60:02d}"
