"""Month balances computed on demand from facts (punches, corrections,
absences, schedules, holidays) and carried month to month from the opening
balance or the last month-close snapshot; nothing else is stored."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from noxus.core.settings import Settings
from noxus.core.types import id_of
from noxus.hr import facts, timesheets, worktime
from noxus.hr.models import Employee, MonthSnapshot, MonthTotals


@dataclass
class MonthSummary:
    employee: Employee
    year: int
    month: int
    worked_seconds: int = 0
    target_seconds: int = 0
    credited_seconds: int = 0
    overtime_seconds: int = 0
    night_seconds: int = 0
    sunday_seconds: int = 0
    balance_seconds: int = 0  # this month's own: worked + credited - target
    carried_in_seconds: int = 0  # running balance at the start of the month
    absences: dict[str, int] = field(default_factory=dict)  # type code -> seconds
    absence_days: dict[str, float] = field(default_factory=dict)  # type code -> days
    vacation_taken: float = 0.0  # this month, days
    vacation: "Vacation | None" = None
    exceptions: int = 0
    open_shifts: int = 0
    sheet: timesheets.Timesheet | None = None

    @property
    def carried_out_seconds(self) -> int:
        return self.carried_in_seconds + self.balance_seconds

    def totals(self) -> dict[str, int]:
        """The MonthTotals fields: what a close stores and what the API shows."""
        return {name: getattr(self, name) for name in MonthTotals.model_fields}


@dataclass
class Vacation:
    year: int
    entitlement: float  # days of the year (pro rata), plus the opening balance in its year
    taken: float  # up to the end of the month asked
    planned: float  # later in the year
    carried: float  # remaining from the previous years

    @property
    def remaining(self) -> float:
        return self.carried + self.entitlement - self.taken - self.planned


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return timesheets.month_period(year, month)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def summarize(sheet: timesheets.Timesheet, rule: str, year: int, month: int) -> MonthSummary:
    m = MonthSummary(sheet.employee, year, month, sheet=sheet)
    triples = []
    for d in sheet.days:
        m.worked_seconds += d.worked_seconds
        m.target_seconds += d.target_seconds
        m.credited_seconds += d.credited_seconds
        m.night_seconds += d.night_seconds
        m.sunday_seconds += d.sunday_seconds
        m.exceptions += len(d.exceptions)
        m.open_shifts += sum(1 for s in d.shifts if s.status == "open")
        triples.append((d.day, d.worked_seconds + d.credited_seconds, d.target_seconds))
        for a in d.absences:
            code = a.absence.kind.code
            m.absences[code] = m.absences.get(code, 0) + a.seconds
            if d.target_seconds or a.seconds:
                share = a.seconds / d.target_seconds if d.target_seconds else 0
                m.absence_days[code] = round(m.absence_days.get(code, 0) + share, 2)
            m.vacation_taken += a.vacation_days
    m.overtime_seconds = worktime.overtime_seconds(triples, rule)
    m.balance_seconds = m.worked_seconds + m.credited_seconds - m.target_seconds
    return m


def _snapshots(session: Session, ids: list[int], year: int, month: int) -> dict[int, MonthSnapshot]:
    """The latest snapshot strictly before (year, month) of each employee."""
    out: dict[int, MonthSnapshot] = {}
    key = year * 12 + month - 1
    for i in range(0, len(ids), 2000):
        for s in session.exec(
            select(MonthSnapshot).where(col(MonthSnapshot.employee_id).in_(ids[i : i + 2000]))
        ):
            k = s.year * 12 + s.month - 1
            if k < key and (
                s.employee_id not in out or k > out[s.employee_id].year * 12 + out[s.employee_id].month - 1
            ):
                out[s.employee_id] = s
    return out


def _prev(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def year_months(
    session: Session,
    customer_id: int,
    employees: list[Employee],
    year: int,
    settings: Settings,
    lang: str = "fr",
    now: datetime | None = None,
    progress=None,
) -> list[list[MonthSummary]]:
    """The twelve months of `year` (no 93-day cap: month by month, the balance
    carried from one to the next)."""
    out: list[list[MonthSummary]] = []
    carried: dict[int, int] | None = None
    n = len(employees)
    for mon in range(1, 13):
        step = (lambda done, total, m=mon: progress((m - 1) * n + done, 12 * n)) if progress else None
        ms = months(session, customer_id, employees, year, mon, settings, lang, now, step, carried)
        carried = {id_of(m.employee): m.carried_out_seconds for m in ms}
        out.append(ms)
    return out


def months(
    session: Session,
    customer_id: int,
    employees: list[Employee],
    year: int,
    month: int,
    settings: Settings,
    lang: str = "fr",
    now: datetime | None = None,
    progress=None,
    carried: dict[int, int] | None = None,
) -> list[MonthSummary]:
    """Summaries of the month for `employees` of one customer, each with the
    balance carried in from its opening balance or last snapshot (or from
    `carried`: employee id -> balance at the end of the previous month, when
    the caller walks months in order)."""
    now = now or datetime.now(UTC)
    first, last = month_bounds(year, month)
    rule = facts.policy(session, customer_id).overtime_rule
    ids = [id_of(e) for e in employees]
    snaps = _snapshots(session, ids, year, month)
    cache: dict = {}
    known = facts.load(session, customer_id, employees, first, last, lang, cache)
    sheets = timesheets.compute(
        session,
        customer_id,
        employees,
        first,
        last,
        settings,
        now=now,
        lang=lang,
        known=known,
        check=False,
        progress=progress,
    )
    out = {s.employee.id: summarize(s, rule, year, month) for s in sheets}
    # carry: start from the last snapshot (or the opening balance), add the months in between
    gaps: dict[date, list[Employee]] = defaultdict(list)
    for e in employees:
        snap = snaps.get(id_of(e))
        f = known[id_of(e)]
        if (
            carried is not None
            and e.id in carried
            and not (snap and (snap.year, snap.month) == _prev(year, month))
        ):
            # the caller's running balance (a snapshot of the previous month wins: it is what payroll got)
            out[e.id].carried_in_seconds = (
                carried[e.id] if date(year, month, 1) > f.start else f.opening_seconds
            )
            continue
        if snap is not None:
            out[e.id].carried_in_seconds = snap.carried_seconds
            y, m = next_month(snap.year, snap.month)
            gap_first = date(y, m, 1)
        else:
            out[id_of(e)].carried_in_seconds = known[id_of(e)].opening_seconds
            gap_first = known[id_of(e)].start.replace(day=1)
        if gap_first < first:
            gaps[gap_first].append(e)
    for gap_first, emps in gaps.items():
        gap_last = first - timedelta(days=1)
        gfacts = facts.load(session, customer_id, emps, gap_first, gap_last, lang, cache)
        for s in timesheets.compute(
            session,
            customer_id,
            emps,
            gap_first,
            gap_last,
            settings,
            now=now,
            lang=lang,
            known=gfacts,
            check=False,
        ):
            out[s.employee.id].carried_in_seconds += sum(
                d.worked_seconds + d.credited_seconds - d.target_seconds for d in s.days
            )
    for e in employees:
        out[id_of(e)].vacation = vacation(known[id_of(e)], year, last)
    return [out[e.id] for e in employees]


def vacation(f: facts.Facts, year: int, upto: date) -> Vacation:
    """Vacation of `year` seen at `upto`: entitlement (pro rata of the
    employment and of the working days), taken, planned, remaining."""
    carried = 0.0
    start_year = f.start.year
    if year < start_year:
        return Vacation(year, 0.0, 0.0, 0.0, 0.0)
    for y in range(start_year, year + 1):
        ent = worktime.vacation_entitlement(f.schedules, f.start, f.end, y)
        if y == start_year:
            ent += f.opening_vacation_days
        taken = planned = 0.0
        for a in f.absences:
            if not a.kind.consumes_vacation:
                continue
            d = max(a.first, date(y, 1, 1), f.start)
            while d <= min(a.last, date(y, 12, 31)):
                v = sum(x.vacation_days for x in f.plan(d).absences if x.absence is a)
                if d <= upto:
                    taken += v
                else:
                    planned += v
                d += timedelta(days=1)
        if y == year:
            return Vacation(year, ent, round(taken, 2), round(planned, 2), round(carried, 2))
        carried += ent - taken - planned
    raise AssertionError("unreachable")
