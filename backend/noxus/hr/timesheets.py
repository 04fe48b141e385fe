"""Timesheets: attendance per employee per day, with week and period totals,
computed on demand from effective punches (nothing derived is stored, so a
late punch or a correction can never leave a stale total behind)."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from noxus.core.settings import Settings
from noxus.core.types import id_of
from noxus.hr import attendance, effective, worktime
from noxus.hr import facts as facts_mod
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
    facts: "facts_mod.Facts | None" = None

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
    def credited_seconds(self) -> int:
        return sum(d.credited_seconds for d in self.days)

    @property
    def night_seconds(self) -> int:
        return sum(d.night_seconds for d in self.days)

    @property
    def sunday_seconds(self) -> int:
        return sum(d.sunday_seconds for d in self.days)

    @property
    def balance_seconds(self) -> int:
        return self.worked_seconds + self.credited_seconds - self.target_seconds

    @property
    def exceptions(self) -> list[tuple[date, str]]:
        return [(d.day, e) for d in self.days for e in d.exceptions]

    def weeks(self) -> list[dict]:
        """ISO weeks touched by the period (partial weeks only count their days)."""
        out: OrderedDict[str, dict] = OrderedDict()
        for d in self.days:
            y, w, _ = d.day.isocalendar()
            row = out.setdefault(
                f"{y}-W{w:02d}",
                {"week": f"{y}-W{w:02d}", "worked_seconds": 0, "break_seconds": 0, "target_seconds": 0},
            )
            row["worked_seconds"] += d.worked_seconds
            row["break_seconds"] += d.break_seconds
            row["target_seconds"] += d.target_seconds
            row["credited_seconds"] = row.get("credited_seconds", 0) + d.credited_seconds
        for row in out.values():
            row["balance_seconds"] = (
                row["worked_seconds"] + row.pop("credited_seconds") - row["target_seconds"]
            )
        return list(out.values())


CHUNK = 250  # employees per punch query (and per progress step of a background export)


def check_period(first: date, last: date, settings: Settings) -> None:
    for d in (first, last):
        if not 2000 <= d.year <= 2100:
            raise HRError(f"{d} is out of range: give dates between 2000 and 2100")
    if last < first:
        raise HRError(f"the period ends ({last}) before it starts ({first}): swap the dates")
    n = (last - first).days + 1
    if n > settings.hr_max_period_days:
        raise HRError(
            f"the period has {n} days; at most {settings.hr_max_period_days} per request: "
            "split it into months"
        )


def compute(
    session: Session,
    customer_id: int,
    employees: list[Employee],
    first: date,
    last: date,
    settings: Settings,
    now: datetime | None = None,
    lang: str = "fr",
    known: dict | None = None,
    check: bool = True,
    progress=None,
) -> list[Timesheet]:
    """Timesheets of `employees` (all of `customer_id`) for local days [first, last]:
    attendance from effective punches, targets from the working-time facts."""
    if check:
        check_period(first, last, settings)
    now = now or datetime.now(UTC)
    cooldown, max_shift = effective.rules(settings)
    if known is None:
        known = facts_mod.load(session, customer_id, employees, first, last, lang)
    win = facts_mod.windows(facts_mod.policy(session, customer_id))
    by_zone: dict[str, list[Employee]] = {}
    zones: dict[str, ZoneInfo] = {}
    cache: dict = {}
    for e in employees:
        z = effective.employee_zone(session, e, settings, cache)
        zones[z.key] = z
        by_zone.setdefault(z.key, []).append(e)
    sheets: dict[int, Timesheet] = {}
    done = 0
    for key, emps in by_zone.items():
        zone = zones[key]
        start, end = effective.local_range(zone, first, last)
        for i in range(0, len(emps), CHUNK):
            part = emps[i : i + CHUNK]
            loaded = effective.load(session, customer_id, [id_of(e) for e in part], start, end, settings)
            for e in part:
                punches = loaded.get(id_of(e), [])
                ds = attendance.days(punches, zone, first, last, 0, cooldown, max_shift, now)
                f = known[id_of(e)]
                for d in ds:
                    _plan_day(d, f.plan(d.day), zone, win)
                shown = sorted(
                    (
                        p
                        for p in punches
                        if start <= p.at < end or (p.voided and p.raw_at and start <= p.raw_at < end)
                    ),
                    key=lambda p: (p.at, p.key),
                )
                sheets[id_of(e)] = Timesheet(e, zone, first, last, ds, shown, f)
            done += len(part)
            if progress is not None:
                progress(done, len(employees))
    return [sheets[id_of(e)] for e in employees]


def _plan_day(d: Day, p: worktime.DayPlan, zone: ZoneInfo, win: worktime.Windows) -> None:
    d.target_seconds = p.target_seconds
    d.holiday = p.holiday
    d.absences = p.absences
    d.credited_seconds = p.credited_seconds
    for s in d.shifts:
        if s.end is not None:
            d.night_seconds += worktime.night_seconds(s.start.at, s.end.at, zone, win)
            d.sunday_seconds += worktime.sunday_seconds(s.start.at, s.end.at, zone, win)


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
