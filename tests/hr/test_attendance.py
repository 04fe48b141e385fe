"""Pairing rules on plain data: no database."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from noxus.hr.attendance import MISSING_OUT, OPEN, EffectivePunch, days, pair

ZH = ZoneInfo("Europe/Zurich")
COOLDOWN, MAX = timedelta(seconds=60), timedelta(hours=16)
LATER = datetime(2030, 1, 1, tzinfo=UTC)


def at(y, mo, d, h, mi=0, s=0):
    return EffectivePunch(
        at=datetime(y, mo, d, h, mi, s, tzinfo=ZH).astimezone(UTC), punch_id=hash((y, mo, d, h, mi, s))
    )


def day_of(punches, d, weekly=2520):
    return days(punches, ZH, d, d, weekly, COOLDOWN, MAX, LATER)[0]


def test_night_shift_over_midnight_belongs_to_the_day_it_started():
    ps = [at(2026, 3, 10, 22), at(2026, 3, 11, 6)]
    result = days(ps, ZH, date(2026, 3, 10), date(2026, 3, 11), 2520, COOLDOWN, MAX, LATER)
    assert result[0].worked_seconds == 8 * 3600
    assert result[1].worked_seconds == 0


def test_night_shift_over_spring_forward_counts_7_hours():
    # 29 March 2026: 02:00 -> 03:00, the day is 23 h long
    d = day_of([at(2026, 3, 28, 22), at(2026, 3, 29, 6)], date(2026, 3, 28))
    assert d.worked_seconds == 7 * 3600


def test_night_shift_over_fall_back_counts_9_hours():
    # 25 October 2026: 03:00 -> 02:00, the day is 25 h long
    d = day_of([at(2026, 10, 24, 22), at(2026, 10, 25, 6)], date(2026, 10, 24))
    assert d.worked_seconds == 9 * 3600


def test_missing_out_after_16_hours_is_an_exception_not_a_guessed_close():
    ps = [at(2026, 3, 2, 8), at(2026, 3, 3, 8), at(2026, 3, 3, 17)]
    result = days(ps, ZH, date(2026, 3, 2), date(2026, 3, 3), 2520, COOLDOWN, MAX, LATER)
    assert result[0].exceptions == [MISSING_OUT]
    assert result[0].worked_seconds == 0
    assert result[1].worked_seconds == 9 * 3600 and result[1].exceptions == []


def test_open_shift_within_limit_is_not_yet_an_exception():
    p = at(2026, 3, 2, 8)
    shifts = pair([p], COOLDOWN, MAX, now=p.at + timedelta(hours=3))
    assert shifts[0].status == OPEN


def test_duplicate_tap_inside_cooldown_is_merged_not_toggled():
    ps = [at(2026, 3, 2, 8), at(2026, 3, 2, 8, 0, 20), at(2026, 3, 2, 17)]
    d = day_of(ps, date(2026, 3, 2))
    assert d.worked_seconds == 9 * 3600
    assert ps[1].merged


def test_breaks_are_gaps_between_out_and_in_and_balance_uses_contract():
    ps = [at(2026, 3, 2, 8), at(2026, 3, 2, 12), at(2026, 3, 2, 12, 45), at(2026, 3, 2, 17, 30)]
    d = day_of(ps, date(2026, 3, 2), weekly=2400)  # 40 h: 8 h a weekday
    assert d.worked_seconds == 8 * 3600 + 45 * 60
    assert d.break_seconds == 45 * 60
    assert d.balance_seconds == 45 * 60


def test_order_of_arrival_does_not_change_pairing():
    ps = [at(2026, 3, 2, 8), at(2026, 3, 2, 12), at(2026, 3, 2, 13), at(2026, 3, 2, 17)]
    a = [(s.start.at, s.end.at) for s in pair(list(ps), COOLDOWN, MAX, LATER)]
    b = [(s.start.at, s.end.at) for s in pair(list(reversed(ps)), COOLDOWN, MAX, LATER)]
    assert a == b
