"""NOXUS support hours (§19): working days in the canton of Vaud, 08:00-12:00 and 13:30-18:00,
Europe/Zurich. Retrieval visits are booked inside one of these windows."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Zurich")
WINDOWS = ((time(8, 0), time(12, 0)), (time(13, 30), time(18, 0)))


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def vaud_holidays(year: int) -> set[date]:
    e = easter(year)
    september = date(year, 9, 1)
    first_sunday = september + timedelta(days=(6 - september.weekday()) % 7)
    jeune = first_sunday + timedelta(days=15)  # Lundi du Jeûne fédéral: Monday after the 3rd Sunday
    return {
        date(year, 1, 1),
        date(year, 1, 2),
        e - timedelta(days=2),
        e + timedelta(days=1),
        e + timedelta(days=39),
        e + timedelta(days=50),
        date(year, 8, 1),
        jeune,
        date(year, 12, 25),
    }


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in vaud_holidays(day.year)


def check_visit(start: datetime, end: datetime) -> None:
    """Raise ValueError saying why a visit is outside support hours."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give the visit times with their time zone")
    s, e = start.astimezone(ZONE), end.astimezone(ZONE)
    if e <= s:
        raise ValueError("the visit must end after it starts")
    if s.date() != e.date() or not is_working_day(s.date()):
        raise ValueError(f"{s:%A %d.%m.%Y} is not a Vaud working day: choose Monday-Friday outside holidays")
    if not any(lo <= s.time() and e.time() <= hi for lo, hi in WINDOWS):
        raise ValueError(f"visit {s:%H:%M}-{e:%H:%M} is outside support hours (08:00-12:00, 13:30-18:00)")


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
