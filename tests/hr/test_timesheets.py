"""Attendance from the database: badges, late punches, corrections, locks, unknown badges."""

from datetime import UTC, date, datetime, timedelta

import pytest
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.hr import badges, corrections, periods, timesheets
from noxus.hr.attendance import ESTIMATED, MISSING_OUT
from noxus.hr.errors import Conflict, Locked, NotFound
from noxus.hr.schemas import BadgeAssign, CorrectionCreate

from .conftest import zh

S = Settings()
ALL = Scope.everything()
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def sheet(session, emp, first, last=None):
    return timesheets.compute(session, emp.customer_id, [emp], first, last or first, S, now=NOW)[0]


def week_of_punches(world, uid):
    """Mon 2 - Fri 6 March 2026, 8-12 and 13-17, as (uid, instant)."""
    out = []
    for d in range(2, 7):
        for h in (8, 12, 13, 17):
            out.append(zh(2026, 3, d, h))
    return out


def test_late_punches_give_the_same_week_as_on_time(world, session, engine):
    anne = world.employee(uid="04A1")
    bob = world.employee(uid="04B2")
    times = week_of_punches(world, "04A1")
    for t in times:
        world.punch("04A1", t)
    # Bob's kiosk was offline: Wednesday's punches arrive a week late, after Thursday/Friday
    late = [t for t in times if t.day == 4]
    for t in times:
        if t not in late:
            world.punch("04B2", t)
    session.commit()
    before = sheet(session, bob, date(2026, 3, 2), date(2026, 3, 6))
    assert before.days[2].worked_seconds == 0
    for t in late:
        world.punch("04B2", t, received_at=t + timedelta(days=7))
    session.commit()
    on_time = sheet(session, anne, date(2026, 3, 2), date(2026, 3, 6))
    late_sheet = sheet(session, bob, date(2026, 3, 2), date(2026, 3, 6))
    assert (
        [d.worked_seconds for d in late_sheet.days]
        == [d.worked_seconds for d in on_time.days]
        == [8 * 3600] * 5
    )
    assert [d.break_seconds for d in late_sheet.days] == [3600] * 5
    # computing one day alone gives the same as the week (chain found by looking back)
    assert sheet(session, bob, date(2026, 3, 5)).days[0].worked_seconds == 8 * 3600


def test_single_late_out_repairs_following_days(world, session):
    bob = world.employee(uid="04B2")
    world.punch("04B2", zh(2026, 3, 2, 8))
    world.punch("04B2", zh(2026, 3, 3, 7))
    world.punch("04B2", zh(2026, 3, 3, 16))
    session.commit()
    s = sheet(session, bob, date(2026, 3, 2), date(2026, 3, 3))
    assert s.days[0].exceptions == [MISSING_OUT]
    world.punch("04B2", zh(2026, 3, 2, 17), received_at=zh(2026, 3, 9, 10))
    session.commit()
    s = sheet(session, bob, date(2026, 3, 2), date(2026, 3, 3))
    assert [d.worked_seconds for d in s.days] == [9 * 3600, 9 * 3600]
    assert s.exceptions == []


def test_estimated_time_punches_are_flagged(world, session):
    anne = world.employee(uid="04A1")
    arrival = zh(2026, 3, 2, 18)
    # clock unset: boot 7, taps at uptime 1 h and 10 h; both arrive at 18:00
    world.punch("04A1", None, received_at=arrival, boot=7, uptime_ms=3600_000)
    world.punch("04A1", None, received_at=arrival, boot=7, uptime_ms=10 * 3600_000)
    session.commit()
    s = sheet(session, anne, date(2026, 3, 2))
    assert s.days[0].worked_seconds == 9 * 3600
    assert ESTIMATED in s.days[0].exceptions
    assert all(p.estimated for p in s.punches)


def test_correction_adds_missing_out_and_keeps_raw(world, session):
    anne = world.employee(uid="04A1")
    raw = world.punch("04A1", zh(2026, 3, 2, 8))
    session.commit()
    assert sheet(session, anne, date(2026, 3, 2)).days[0].exceptions == [MISSING_OUT]
    c = corrections.create(
        session,
        ALL,
        CorrectionCreate(
            employee_id=anne.id, action="add", ts=zh(2026, 3, 2, 17), reason="forgot to badge out"
        ),
        "hr@alpha",
        S,
    )
    session.commit()
    s = sheet(session, anne, date(2026, 3, 2))
    assert s.days[0].worked_seconds == 9 * 3600 and s.days[0].exceptions == []
    assert [(p.punch_id, p.added) for p in s.punches] == [(raw.id, False), (None, True)]
    corrections.create(
        session,
        ALL,
        CorrectionCreate(
            employee_id=anne.id, action="move", target_id=c.id, ts=zh(2026, 3, 2, 16), reason="left at 16:00"
        ),
        "hr@alpha",
        S,
    )
    corrections.create(
        session,
        ALL,
        CorrectionCreate(
            employee_id=anne.id, action="move", punch_id=raw.id, ts=zh(2026, 3, 2, 7), reason="arrived at 7"
        ),
        "hr@alpha",
        S,
    )
    session.commit()
    s = sheet(session, anne, date(2026, 3, 2))
    assert s.days[0].worked_seconds == 9 * 3600
    assert s.punches[0].raw_at == zh(2026, 3, 2, 8) and s.punches[0].moved


def test_void_of_a_double_tap(world, session):
    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 2, 8))
    dup = world.punch("04A1", zh(2026, 3, 2, 8, 5))  # outside cooldown: would toggle
    world.punch("04A1", zh(2026, 3, 2, 17))
    session.commit()
    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 5 * 60
    corrections.create(
        session,
        ALL,
        CorrectionCreate(employee_id=anne.id, action="void", punch_id=dup.id, reason="tapped twice"),
        "hr",
        S,
    )
    session.commit()
    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 9 * 3600


def test_correction_in_locked_month_is_refused_until_reopened(world, session):
    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 31, 8))
    session.commit()
    periods.close(session, world.a.id, 2026, 3, "hr")
    session.commit()
    add = CorrectionCreate(employee_id=anne.id, action="add", ts=zh(2026, 3, 31, 17), reason="missing out")
    with pytest.raises(Locked, match="2026-03"):
        corrections.create(session, ALL, add, "hr", S)
    # moving an April punch into March is a change in March too
    april = world.punch("04A1", zh(2026, 4, 1, 8))
    with pytest.raises(Locked):
        corrections.create(
            session,
            ALL,
            CorrectionCreate(
                employee_id=anne.id, action="move", punch_id=april.id, ts=zh(2026, 3, 31, 23), reason="x" * 5
            ),
            "hr",
            S,
        )
    periods.reopen(session, world.a.id, 2026, 3, "boss", "late missing OUT")
    corrections.create(session, ALL, add, "hr", S)
    session.commit()
    from noxus.hr import audit

    actions = [e.action for e in audit.events(session, world.a.id)]
    assert actions[:3] == ["correction.add", "month.reopen", "month.close"]


def test_unknown_badge_is_listed_and_assignment_reattributes_past_punches(world, session):
    anne = world.employee()
    first = world.punch("0BADC0DE", zh(2026, 3, 2, 8))
    world.punch("0BADC0DE", zh(2026, 3, 2, 17))
    session.commit()
    listed = badges.unknown(session, ALL)
    assert [(u.uid, u.punches) for u in listed] == [("0BADC0DE", 2)]
    assert listed[0].first_at == first.ts
    badges.assign(
        session, ALL, BadgeAssign(uid="0b:ad:c0:de", employee_id=anne.id, valid_from=first.ts), "hr"
    )
    session.commit()
    assert badges.unknown(session, ALL) == []
    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 9 * 3600


def test_one_employee_per_uid_at_a_time(world, session):
    anne = world.employee(uid="04A1", since=zh(2026, 1, 1))
    bob = world.employee()
    with pytest.raises(Conflict, match="already given"):
        badges.assign(session, ALL, BadgeAssign(uid="04A1", employee_id=bob.id), "hr")
    b = badges.listing(session, ALL, employee_id=anne.id)[0]
    badges.end(session, b, "lost", "hr", at=zh(2026, 3, 1))
    badges.assign(session, ALL, BadgeAssign(uid="04A1", employee_id=bob.id, valid_from=zh(2026, 3, 1)), "hr")
    world.punch("04A1", zh(2026, 2, 27, 8))
    world.punch("04A1", zh(2026, 2, 27, 12))
    world.punch("04A1", zh(2026, 3, 2, 8))
    world.punch("04A1", zh(2026, 3, 2, 10))
    session.commit()
    assert sheet(session, anne, date(2026, 2, 27)).days[0].worked_seconds == 4 * 3600
    assert sheet(session, bob, date(2026, 3, 2)).days[0].worked_seconds == 2 * 3600
    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 0


def test_other_tenant_objects_are_not_found(world, session):
    anne = world.employee(uid="04A1")
    only_b = Scope.only([world.b.id])
    with pytest.raises(NotFound):
        corrections.create(
            session,
            only_b,
            CorrectionCreate(employee_id=anne.id, action="add", ts=zh(2026, 3, 2, 8), reason="nope"),
            "evil",
            S,
        )
    with pytest.raises(NotFound):
        badges.assign(session, only_b, BadgeAssign(uid="CAFE", employee_id=anne.id), "evil")


def test_closed_month_keeps_its_totals_when_raw_punches_arrive_late(world, session):
    from noxus.hr.attendance import AFTER_CLOSE

    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 30, 8), received_at=zh(2026, 3, 30, 8))
    world.punch("04A1", zh(2026, 3, 30, 12), received_at=zh(2026, 3, 30, 12))
    session.commit()
    periods.close(session, world.a.id, 2026, 3, "hr")
    session.commit()
    # the kiosk was offline: the afternoon arrives after the close
    world.punch("04A1", zh(2026, 3, 30, 13), received_at=datetime.now(UTC) + timedelta(seconds=1))
    world.punch("04A1", zh(2026, 3, 30, 17), received_at=datetime.now(UTC) + timedelta(seconds=1))
    session.commit()
    day = sheet(session, anne, date(2026, 3, 30)).days[0]
    assert day.worked_seconds == 4 * 3600 and day.exceptions == [AFTER_CLOSE]
    periods.reopen(session, world.a.id, 2026, 3, "boss", "kiosk was offline")
    session.commit()
    day = sheet(session, anne, date(2026, 3, 30)).days[0]
    assert day.worked_seconds == 8 * 3600 and day.exceptions == []


def test_punch_on_another_customers_kiosk_is_not_attributed_and_unknown_is_per_tenant(world, session):

    world.deploy("KB", world.b)
    world.deploy("KA", world.a)
    anne = world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 2, 8), kiosk="KB")  # A's UID tapped at B: not A's time
    world.punch("04A1", zh(2026, 3, 2, 17), kiosk="KB")
    world.punch("77AA", zh(2026, 3, 2, 9), kiosk="KA")  # unknown at A
    session.commit()
    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 0
    assert [u.uid for u in badges.unknown(session, Scope.only([world.a.id]))] == ["77AA"]
    assert [u.uid for u in badges.unknown(session, Scope.only([world.b.id]))] == ["04A1"]
