"""Punches into attendance: a pure computation, no database.

Rules (docs/hr.md explains the choices):
- an employee's effective punches (raw + HR additions, minus voided, at moved
  times) are taken in time order across all kiosks;
- a tap within `cooldown` of the previous kept tap is a duplicate: merged, not toggled;
- IN/OUT by toggle; a gap longer than `max_shift` after an IN closes nothing:
  that IN becomes a "missing OUT" exception and the next tap is a new IN. Any
  gap longer than `max_shift` is therefore a reset point, so the pairing of a
  punch depends only on its chain (punches separated by gaps <= max_shift):
  punches arriving late give exactly the result they would have given in time;
- a shift belongs to the local day (site zone) it started on and counts its
  true duration in UTC, so DST nights count 1 h less or more on the wall clock.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

MISSING_OUT = "missing_out"  # IN without OUT within max_shift: HR must add the OUT
OPEN = "open"  # IN without OUT yet, still within max_shift (at work now)
ESTIMATED = "estimated_time"  # a punch's time was estimated (kiosk clock unset)
AFTER_CLOSE = "after_close"  # a raw punch arrived after its month was closed: not counted until reopened
EXCEPTIONS = (MISSING_OUT, ESTIMATED, AFTER_CLOSE)


@dataclass
class EffectivePunch:
    at: datetime  # UTC instant used for pairing
    punch_id: int | None = None  # raw punch (None: added by HR)
    correction_id: int | None = None  # the add, or the latest move/void
    kiosk_id: str | None = None
    raw_at: datetime | None = None  # what the kiosk said (None when estimated or added)
    estimated: bool = False
    moved: bool = False
    voided: bool = False
    added: bool = False
    merged: bool = False  # duplicate tap inside the cooldown
    after_close: bool = False  # arrived after its month was closed (then also voided)
    direction: str = ""  # "in" / "out" once paired

    @property
    def key(self) -> str:
        return f"p{self.punch_id}" if self.punch_id is not None else f"c{self.correction_id}"


@dataclass
class Shift:
    start: EffectivePunch
    end: EffectivePunch | None
    status: str = "closed"  # closed | open | missing_out

    @property
    def seconds(self) -> int:
        return int((self.end.at - self.start.at).total_seconds()) if self.end else 0


@dataclass
class Day:
    day: date
    shifts: list[Shift] = field(default_factory=list)
    target_seconds: int = 0
    exceptions: list[str] = field(default_factory=list)
    holiday: str | None = None  # public or company holiday (name in the page's language)
    absences: list = field(default_factory=list)  # worktime.AbsenceDay of the day
    credited_seconds: int = 0  # absence time counted as worked (vacation, sickness...)
    night_seconds: int = 0  # of the shifts starting that day, inside the night window
    sunday_seconds: int = 0  # of the shifts starting that day, inside the Sunday window

    # cached: exports read each total several times; a Day is built once, complete
    @cached_property
    def worked_seconds(self) -> int:
        return sum(s.seconds for s in self.shifts)

    @cached_property
    def break_seconds(self) -> int:
        """Gaps between an OUT and the next IN of the same day."""
        total = 0
        for prev, nxt in zip(self.shifts, self.shifts[1:], strict=False):
            if prev.end is not None:
                total += max(0, int((nxt.start.at - prev.end.at).total_seconds()))
        return total

    @property
    def balance_seconds(self) -> int:
        return self.worked_seconds + self.credited_seconds - self.target_seconds

    @property
    def first_in(self) -> datetime | None:
        return self.shifts[0].start.at if self.shifts else None

    @property
    def last_out(self) -> datetime | None:
        return self.shifts[-1].end.at if self.shifts and self.shifts[-1].end else None


def pair(
    punches: list[EffectivePunch], cooldown: timedelta, max_shift: timedelta, now: datetime | None = None
) -> list[Shift]:
    """Shifts from effective punches (any order; voided ones are ignored)."""
    now = now or datetime.now(UTC)
    live = sorted((p for p in punches if not p.voided), key=lambda p: (p.at, p.key))
    shifts: list[Shift] = []
    open_in: EffectivePunch | None = None
    last: EffectivePunch | None = None
    for p in live:
        p.merged, p.direction = False, ""
        if last is not None and p.at - last.at <= cooldown:
            p.merged = True
            continue
        last = p
        if open_in is not None and p.at - open_in.at <= max_shift:
            p.direction = "out"
            shifts.append(Shift(open_in, p))
            open_in = None
            continue
        if open_in is not None:
            shifts.append(Shift(open_in, None, MISSING_OUT))
        p.direction = "in"
        open_in = p
    if open_in is not None:
        shifts.append(Shift(open_in, None, MISSING_OUT if now - open_in.at > max_shift else OPEN))
    return shifts


def daily_target_seconds(weekly_minutes: int, day: date) -> int:
    """Contract hours spread over Monday-Friday; weekends have no target."""
    return weekly_minutes * 60 // 5 if day.weekday() < 5 else 0


def local_days(start: date, end: date) -> list[date]:
    """Every day in [start, end] inclusive."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def days(
    punches: list[EffectivePunch],
    zone: ZoneInfo,
    first: date,
    last: date,
    weekly_minutes: int,
    cooldown: timedelta,
    max_shift: timedelta,
    now: datetime | None = None,
    active: tuple[date, date | None] | None = None,
) -> list[Day]:
    """Attendance for each local day in [first, last]."""
    by_day: dict[date, list[Shift]] = defaultdict(list)
    for s in pair(punches, cooldown, max_shift, now):
        by_day[s.start.at.astimezone(zone).date()].append(s)
    estimated_days = {p.at.astimezone(zone).date() for p in punches if p.estimated and not p.voided}
    after_close_days = {p.at.astimezone(zone).date() for p in punches if p.after_close}
    out = []
    for d in local_days(first, last):
        employed = active is None or (active[0] <= d and (active[1] is None or d <= active[1]))
        day = Day(d, by_day.get(d, []), daily_target_seconds(weekly_minutes, d) if employed else 0)
        if any(s.status == MISSING_OUT for s in day.shifts):
            day.exceptions.append(MISSING_OUT)
        if d in estimated_days:
            day.exceptions.append(ESTIMATED)
        if d in after_close_days:
            day.exceptions.append(AFTER_CLOSE)
        out.append(day)
    return out


def chain_start(punches: list[EffectivePunch], before: datetime, max_shift: timedelta) -> datetime | None:
    """The first instant of the chain that is running at `before`: pairing
    must start there to give the same answer as a computation from the start
    of time. None if no reset gap was found (the caller loads further back)."""
    live = sorted((p.at for p in punches if not p.voided and p.at < before), reverse=True)
    prev = before
    for at in live:
        if prev - at > max_shift:
            return prev
        prev = at
    return None
