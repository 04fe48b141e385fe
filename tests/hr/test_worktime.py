"""Working time, absences and balances, hand-computed (docs/hr.md): each test
sets up a month a Swiss HR person would recognise and checks the figures."""

from datetime import UTC, date, datetime

import pytest
from noxus.core.i18n import use_language
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.hr import absences, balances, contracts, periods, timesheets
from noxus.hr.errors import Conflict, HRError, Locked
from noxus.hr.models import AbsenceRecord, WorkSchedule
from noxus.hr.schemas import AbsenceCreate, OpeningBalanceSet, PolicyUpdate, ScheduleCreate

from .conftest import zh

S = Settings()
ALL = Scope.everything()
NOW = datetime(2030, 1, 1, tzinfo=UTC)
DAY = 8 * 3600 + 24 * 60  # 42 h / 5 = 8:24


def sheet(session, emp, first, last):
    return timesheets.compute(session, emp.customer_id, [emp], first, last, S, now=NOW)[0]


def month(session, emp, year, mon):
    return balances.months(session, emp.customer_id, [emp], year, mon, S, now=NOW)[0]


def work(world, uid, day: date, start=(8, 0), end=(16, 24)):
    world.punch(uid, zh(day.year, day.month, day.day, *start))
    world.punch(uid, zh(day.year, day.month, day.day, *end))


def kind(session, customer_id, code):
    return next(k for k in absences.ensure_kinds(session, customer_id) if k.code == code)


def absent(session, emp, code, first, last=None, portion="day", minutes=0):
    return absences.create(
        session,
        ALL,
        AbsenceCreate(
            employee_id=emp.id,
            type_id=kind(session, emp.customer_id, code).id,
            first=first,
            last=last or first,
            portion=portion,
            minutes=minutes,
            reason="test",
        ),
        "rh",
    )


def test_vaud_ascension_thursday_is_credited(world, session):
    world.site_a.canton = "VD"  # Lausanne
    session.add(world.site_a)
    anne = world.employee(uid="04A1")
    for d in (11, 12, 13, 15):  # Mon-Wed and Fri of the Ascension week 2026; Thursday 14 May is off
        work(world, "04A1", date(2026, 5, d))
    session.commit()
    s = sheet(session, anne, date(2026, 5, 11), date(2026, 5, 17))
    thursday = s.days[3]
    assert thursday.day == date(2026, 5, 14) and thursday.target_seconds == 0
    assert thursday.holiday == "Ascension"
    assert s.target_seconds == 4 * DAY and s.balance_seconds == 0


def test_an_80_percent_employee_owes_80_percent_of_42_hours(world, session):
    anne = world.employee(uid="04A1")
    contracts.set_schedule(
        session, ALL, anne.id, ScheduleCreate(valid_from=date(2020, 1, 1), percent=80), "rh"
    )
    session.commit()
    s = sheet(session, anne, date(2026, 3, 1), date(2026, 3, 31))
    # 42 h x 80 % = 33:36 a week, 6:43:12 a day, 22 working days in March 2026
    assert s.days[1].target_seconds == 6 * 3600 + 43 * 60 + 12
    assert s.target_seconds == 22 * (6 * 3600 + 43 * 60 + 12)
    assert s.days[0].target_seconds == 0  # Sunday 1 March


def test_half_day_vacation_credits_half_the_day_and_takes_half_a_vacation_day(world, session):
    anne = world.employee(uid="04A1")
    work(world, "04A1", date(2026, 3, 4), (13, 0), (17, 12))  # afternoon: 4:12
    absent(session, anne, "vacation", date(2026, 3, 4), portion="am")
    session.commit()
    day = sheet(session, anne, date(2026, 3, 4), date(2026, 3, 4)).days[0]
    assert day.credited_seconds == DAY // 2 and day.balance_seconds == 0
    m = month(session, anne, 2026, 3)
    assert m.vacation_taken == 0.5
    assert (
        m.vacation.taken == 0.5 and m.vacation.remaining == m.vacation.entitlement + m.vacation.carried - 0.5
    )


def test_sick_week_across_a_month_end_is_split_between_the_months(world, session):
    anne = world.employee(uid="04A1")
    absent(session, anne, "sick", date(2026, 1, 28), date(2026, 2, 3))  # Wed 28 Jan - Tue 3 Feb
    session.commit()
    jan, feb = month(session, anne, 2026, 1), month(session, anne, 2026, 2)
    assert jan.absences == {"sick": 3 * DAY} and feb.absences == {"sick": 2 * DAY}
    assert jan.absence_days == {"sick": 3.0} and feb.absence_days == {"sick": 2.0}
    # the sick days cost nothing: only the days without punches and without absence count against
    assert jan.balance_seconds == -(jan.target_seconds - 3 * DAY)


def _opening_plus_12_hours(session, emp):
    """Tracked from 1 March 2026 with 12 hours of overtime brought in."""
    opening = OpeningBalanceSet(tracked_from=date(2026, 3, 1), overtime_minutes=12 * 60)
    contracts.set_opening(session, ALL, emp.id, opening, "rh")


def test_opening_balance_of_plus_12_hours_is_carried_into_the_next_month(world, session):
    anne = world.employee(uid="04A1")
    _opening_plus_12_hours(session, anne)
    for d in range(1, 32):
        if date(2026, 3, d).weekday() < 5:
            work(world, "04A1", date(2026, 3, d))
    session.commit()
    march = month(session, anne, 2026, 3)
    assert march.carried_in_seconds == 12 * 3600 and march.balance_seconds == 0
    assert march.carried_out_seconds == 12 * 3600
    april = month(session, anne, 2026, 4)
    assert april.carried_in_seconds == 12 * 3600
    assert april.carried_out_seconds == 12 * 3600 - 22 * DAY  # April 2026 has 22 working days, none worked


def test_an_employee_starting_on_the_17th_owes_nothing_before(world, session):
    anne = world.employee(uid="04A1")
    anne.active_from = date(2026, 3, 17)
    session.add(anne)
    for d in range(17, 32):
        if date(2026, 3, d).weekday() < 5:
            work(world, "04A1", date(2026, 3, d))
    session.commit()
    s = sheet(session, anne, date(2026, 3, 1), date(2026, 3, 31))
    assert all(d.target_seconds == 0 and d.balance_seconds == 0 for d in s.days if d.day.day < 17)
    assert s.target_seconds == 11 * DAY and s.balance_seconds == 0
    m = month(session, anne, 2026, 3)
    assert m.carried_in_seconds == 0 and m.carried_out_seconds == 0


def test_night_hours_of_a_22_to_06_shift_are_7(world, session):
    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 3, 22))
    world.punch("04A1", zh(2026, 3, 4, 6))
    session.commit()
    day = sheet(session, anne, date(2026, 3, 3), date(2026, 3, 4)).days[0]
    assert day.worked_seconds == 8 * 3600 and day.night_seconds == 7 * 3600 and day.sunday_seconds == 0


def test_night_hours_are_elapsed_time_over_spring_forward_and_fall_back():
    """The 23:00-06:00 window lasts 6 h on the spring-forward night and 8 h on the fall-back
    night (true elapsed time, ArG); a day shift needs no window at all."""
    from zoneinfo import ZoneInfo

    from noxus.hr import worktime

    zone, w = ZoneInfo("Europe/Zurich"), worktime.Windows()
    spring = worktime.night_seconds(zh(2026, 3, 28, 22), zh(2026, 3, 29, 7), zone, w)
    autumn = worktime.night_seconds(zh(2026, 10, 24, 22), zh(2026, 10, 25, 7), zone, w)
    assert (spring, autumn) == (6 * 3600, 8 * 3600)
    assert worktime.night_seconds(zh(2026, 3, 2, 6), zh(2026, 3, 2, 23), zone, w) == 0
    assert worktime.sunday_seconds(zh(2026, 3, 28, 22), zh(2026, 3, 29, 7), zone, w) == 7 * 3600


def test_sunday_hours_run_from_saturday_23_00_to_sunday_23_00(world, session):
    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 7, 20))  # Saturday 20:00
    world.punch("04A1", zh(2026, 3, 8, 2))  # Sunday 02:00
    session.commit()
    day = sheet(session, anne, date(2026, 3, 7), date(2026, 3, 8)).days[0]
    assert day.sunday_seconds == 3 * 3600 and day.night_seconds == 3 * 3600


def test_overtime_is_what_exceeds_the_weekly_target(world, session):
    anne = world.employee(uid="04A1")
    for d in range(2, 7):  # Mon 2 - Fri 6 March 2026, 9 hours a day: 45 h against 42 h
        work(world, "04A1", date(2026, 3, d), (8, 0), (17, 0))
    bob = world.employee(uid="04B2")
    work(world, "04B2", date(2026, 3, 2), (6, 0), (18, 0))  # 12 h on Monday, 7:30 the other days: 42 h
    for d in range(3, 7):
        work(world, "04B2", date(2026, 3, d), (8, 0), (15, 30))
    session.commit()
    s_anne, s_bob = (sheet(session, e, date(2026, 3, 2), date(2026, 3, 8)) for e in (anne, bob))
    assert balances.summarize(s_anne, "weekly", 2026, 3).overtime_seconds == 3 * 3600
    assert balances.summarize(s_bob, "weekly", 2026, 3).overtime_seconds == 0
    assert balances.summarize(s_bob, "daily", 2026, 3).overtime_seconds == 12 * 3600 - DAY
    contracts.set_policy(session, world.a.id, PolicyUpdate(overtime_rule="daily"), "rh")
    session.commit()
    assert month(session, bob, 2026, 3).overtime_seconds == 12 * 3600 - DAY


def test_overtime_compensation_costs_the_day_from_the_balance(world, session):
    anne = world.employee(uid="04A1")
    absent(session, anne, "overtime_comp", date(2026, 3, 2))
    session.commit()
    day = sheet(session, anne, date(2026, 3, 2), date(2026, 3, 2)).days[0]
    assert day.credited_seconds == 0 and day.balance_seconds == -DAY


def test_company_half_day_on_24_december_halves_the_target(world, session):
    from noxus.hr.schemas import ExtraDayCreate

    anne = world.employee(uid="04A1")
    contracts.add_extra_day(
        session, world.a.id, ExtraDayCreate(day=date(2026, 12, 24), name="Veille de Noël", share=50), "rh"
    )
    session.commit()
    day = sheet(session, anne, date(2026, 12, 24), date(2026, 12, 24)).days[0]
    assert day.target_seconds == DAY // 2 and day.holiday == "Veille de Noël"


def test_vacation_entitlement_is_pro_rata_of_the_year_and_of_the_working_days(world, session):
    anne = world.employee(uid="04A1")
    anne.active_from = date(2026, 7, 1)
    session.add(anne)
    contracts.set_schedule(
        session,
        ALL,
        anne.id,
        ScheduleCreate(valid_from=date(2026, 7, 1), percent=80, working_days="1234", vacation_days=25),
        "rh",
    )
    session.commit()
    # 25 days x 4/5 working days x 184/365 of the year = 10.08 -> 10 days
    assert month(session, anne, 2026, 7).vacation.entitlement == 10.0


# --- bad input: a clear error, nothing saved ---------------------------------------------------------


def _count(session):
    return len(session.exec(__import__("sqlmodel").select(AbsenceRecord)).all())


def test_an_absence_overlapping_another_is_refused(world, session):
    anne = world.employee(uid="04A1")
    absent(session, anne, "vacation", date(2026, 3, 2), date(2026, 3, 6))
    session.commit()
    with pytest.raises(Conflict, match="déjà absent·e du 02.03.2026 au 06.03.2026 .Vacances."):
        absent(session, anne, "sick", date(2026, 3, 5))
    session.rollback()
    assert _count(session) == 1


def test_an_absence_in_a_closed_month_is_refused(world, session):
    anne = world.employee(uid="04A1")
    periods.close(session, world.a.id, 2026, 2, "rh")
    session.commit()
    with use_language("de"), pytest.raises(Locked, match="2026-02 ist abgeschlossen"):
        absent(session, anne, "sick", date(2026, 1, 30), date(2026, 2, 2))
    session.rollback()
    assert _count(session) == 0


def test_an_absence_ending_before_it_starts_is_refused(world, session):
    anne = world.employee(uid="04A1")
    with pytest.raises(HRError, match="se termine .03.03.2026. avant de commencer .05.03.2026."):
        absent(session, anne, "vacation", date(2026, 3, 5), date(2026, 3, 3))
    session.rollback()
    assert _count(session) == 0


def test_an_employment_percentage_above_100_is_refused(world, session):
    anne = world.employee(uid="04A1")
    with use_language("en"), pytest.raises(HRError, match="between 0 and 100 .got 120."):
        contracts.set_schedule(
            session, ALL, anne.id, ScheduleCreate(valid_from=date(2026, 1, 1), percent=120), "rh"
        )
    session.rollback()
    assert session.exec(__import__("sqlmodel").select(WorkSchedule)).all() == []


# --- month close: checklist, snapshot, reopen ---------------------------------------------------------


def test_a_month_that_has_not_ended_cannot_be_closed(world, session):
    with pytest.raises(HRError, match="2026-03 n'est pas encore terminé"):
        periods.close_month(session, world.a.id, 2026, 3, "rh", S, now=zh(2026, 3, 31, 18))


def test_closing_needs_the_checklist_acknowledged_and_stores_the_carried_balance(world, session):
    from noxus.hr.models import MonthSnapshot
    from sqlmodel import select

    anne = world.employee(uid="04A1")
    _opening_plus_12_hours(session, anne)
    world.punch("04A1", zh(2026, 3, 2, 8))  # no OUT: a missing_out exception
    world.deploy("K1", world.a)  # deployed at Alpha: its unknown badges are Alpha's to assign
    world.punch("FFEE01", zh(2026, 3, 3, 8))  # a badge nobody has
    session.commit()
    checks, _ = periods.checklist(session, world.a.id, 2026, 3, S, now=NOW)
    assert {(c.kind, c.detail) for c in checks} >= {("exception", "missing_out"), ("unknown_badge", "FFEE01")}
    with pytest.raises(Conflict, match="liste de contrôle"):
        periods.close_month(session, world.a.id, 2026, 3, "rh", S, now=NOW)
    session.rollback()
    periods.close_month(session, world.a.id, 2026, 3, "rh", S, acknowledged=True, now=NOW)
    session.commit()
    snap = session.exec(select(MonthSnapshot).where(MonthSnapshot.employee_id == anne.id)).one()
    assert snap.carried_seconds == 12 * 3600 - 22 * DAY and snap.target_seconds == 22 * DAY
    assert month(session, anne, 2026, 4).carried_in_seconds == snap.carried_seconds
    periods.reopen(session, world.a.id, 2026, 3, "rh", "late sick note")
    session.commit()
    assert session.exec(select(MonthSnapshot)).all() == []
