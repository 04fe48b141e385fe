"""The working-time facts of employees, read in bulk for a period: schedules,
opening balances, public holidays of the site's canton (the `holidays`
package) plus the customer's own days, absences, the customer's policy."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache

import holidays as holidays_lib
from sqlmodel import Session, col, select

from noxus.core.types import id_of
from noxus.hr import worktime
from noxus.hr.absences import kind_name
from noxus.hr.models import (
    AbsenceKind,
    AbsenceRecord,
    Employee,
    ExtraDay,
    HRPolicy,
    OpeningBalance,
    WorkSchedule,
)
from noxus.tenancy.models import Customer, Site

CANTONS = tuple(sorted(holidays_lib.Switzerland.subdivisions))
HOLIDAY_LANGS = {"fr": "fr", "de": "de", "en": "en_US", "it": "it"}


@lru_cache(maxsize=512)
def public_holidays(canton: str, year: int, lang: str = "fr") -> tuple[tuple[date, str], ...]:
    """Public holidays of a Swiss canton (federal + cantonal), named in `lang`."""
    if canton not in CANTONS:
        return ()
    language: str | None = HOLIDAY_LANGS.get(lang, "en_US")
    if language not in holidays_lib.Switzerland.supported_languages:
        language = None
    cal = holidays_lib.Switzerland(subdiv=canton, years=year, language=language)
    return tuple(sorted(cal.items()))


@dataclass
class Facts:
    """Everything a day's target depends on, for one employee."""

    schedules: list[worktime.Schedule]
    start: date  # first tracked day
    end: date | None  # last employed day
    opening_seconds: int = 0
    opening_vacation_days: float = 0.0
    holidays: dict[date, worktime.Holiday] = field(default_factory=dict)
    absences: list[worktime.Absence] = field(default_factory=list)

    def plan(self, day: date) -> worktime.DayPlan:
        return worktime.plan(day, self.schedules, self.start, self.end, self.holidays, self.absences)


def _hhmm(value: str, default: time) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        return default


def policy(session: Session, customer_id: int) -> HRPolicy:
    return session.get(HRPolicy, customer_id) or HRPolicy(customer_id=customer_id)


def windows(p: HRPolicy) -> worktime.Windows:
    d = worktime.Windows()
    return worktime.Windows(
        _hhmm(p.night_start, d.night_start),
        _hhmm(p.night_end, d.night_end),
        _hhmm(p.sunday_start, d.sunday_start),
    )


def canton_of(session: Session, employee: Employee, cache: dict) -> str:
    """The canton whose public holidays apply: the employee's site's, else the
    customer's first site that names one, else the customer's own."""
    key = ("canton", employee.site_id, employee.customer_id)
    if key not in cache:
        site = session.get(Site, employee.site_id) if employee.site_id is not None else None
        canton = site.canton if site is not None else None
        if not canton:
            canton = session.exec(
                select(Site.canton)
                .where(col(Site.customer_id) == employee.customer_id, col(Site.canton).is_not(None))
                .order_by(col(Site.id))
            ).first()
        if not canton:
            c = session.get(Customer, employee.customer_id)
            canton = c.canton if c is not None else None
        cache[key] = (canton or "").upper()
    return cache[key]


def kinds(session: Session, customer_id: int) -> dict[int, AbsenceKind]:
    return {
        id_of(k): k for k in session.exec(select(AbsenceKind).where(AbsenceKind.customer_id == customer_id))
    }


def to_kind(k: AbsenceKind, name: str) -> worktime.AbsenceType:
    return worktime.AbsenceType(k.code, name, k.credits_target, k.consumes_vacation, k.paid)


def load(
    session: Session,
    customer_id: int,
    employees: list[Employee],
    first: date,
    last: date,
    lang: str = "fr",
    cache: dict | None = None,
) -> dict[int, Facts]:
    """Facts of `employees` for the days [first, last] (a handful of queries, whatever their number)."""
    cache = {} if cache is None else cache
    ids = [e.id for e in employees]
    sched: dict[int, list[worktime.Schedule]] = defaultdict(list)
    opening: dict[int, OpeningBalance] = {}
    absences: dict[int, list[worktime.Absence]] = defaultdict(list)
    ktypes = kinds(session, customer_id)
    for i in range(0, len(ids), 2000):
        chunk = ids[i : i + 2000]
        for s in session.exec(
            select(WorkSchedule)
            .where(col(WorkSchedule.employee_id).in_(chunk))
            .order_by(col(WorkSchedule.valid_from))
        ):
            sched[s.employee_id].append(
                worktime.Schedule(
                    s.valid_from,
                    s.percent,
                    s.weekly_minutes,
                    s.working_days,
                    tuple(s.weekday_minutes) if s.weekday_minutes else None,
                    s.vacation_days,
                )
            )
        for row in session.exec(select(OpeningBalance).where(col(OpeningBalance.employee_id).in_(chunk))):
            opening[row.employee_id] = row
        for a in session.exec(
            select(AbsenceRecord)
            .where(
                col(AbsenceRecord.employee_id).in_(chunk),
                col(AbsenceRecord.cancelled_at).is_(None),
                AbsenceRecord.first <= date(last.year, 12, 31),
            )
            .order_by(col(AbsenceRecord.id))
        ):
            k = ktypes[a.type_id]
            absences[a.employee_id].append(
                worktime.Absence(to_kind(k, kind_name(k)), a.first, a.last, a.portion, a.minutes, a.id)
            )
    # whole years: vacation looks at every day of the years it covers
    y0 = min(
        [first.year]
        + [
            min(e.active_from, opening[e.id].tracked_from if e.id in opening else e.active_from).year
            for e in employees
        ]
    )
    hfirst, hlast = date(max(y0, first.year - 10), 1, 1), date(last.year, 12, 31)
    extra = list(
        session.exec(
            select(ExtraDay).where(
                ExtraDay.customer_id == customer_id, ExtraDay.day >= hfirst, ExtraDay.day <= hlast
            )
        )
    )
    out: dict[int, Facts] = {}
    for e in employees:
        canton = canton_of(session, e, cache)
        hkey = ("hol", canton, hfirst, hlast, lang)
        if hkey not in cache:
            days = {}
            for y in range(hfirst.year, hlast.year + 1):
                for d, name in public_holidays(canton, y, lang):
                    days[d] = worktime.Holiday(d, name)
            for x in extra:
                if x.day not in days or x.share > days[x.day].share:
                    days[x.day] = worktime.Holiday(x.day, x.name, x.share)
            cache[hkey] = days
        o = opening.get(id_of(e))
        schedules = sched.get(id_of(e)) or [worktime.Schedule(e.active_from, 100, e.weekly_minutes)]
        start = max(e.active_from, o.tracked_from) if o else e.active_from
        out[id_of(e)] = Facts(
            schedules,
            start,
            e.active_to,
            (o.overtime_minutes * 60) if o else 0,
            (o.vacation_days_x2 / 2) if o else 0.0,
            cache[hkey],
            absences.get(id_of(e), []),
        )
    return out
