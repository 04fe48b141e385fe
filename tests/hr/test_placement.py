"""One placement of a punch in time and tenancy (noxus.hr.placement) for
timesheets and metering: a moved kiosk keeps its past punches with the
customer it served then; an estimated punch falls in the same month for HR
and for billing."""

from datetime import UTC, date, datetime, timedelta

from noxus.core.settings import Settings
from noxus.hr import timesheets
from noxus.hr.metering import active_user_ids

from .conftest import zh

S = Settings()
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def sheet(session, emp, day):
    return timesheets.compute(session, emp.customer_id, [emp], day, day, S, now=NOW)[0]


def test_kiosk_moved_mid_month_keeps_each_customers_timesheets_and_active_users(world, session):
    moved = zh(2026, 3, 15, 12)
    world.deploy("K1", world.a, until=moved)  # at Alpha until the 15th at noon...
    world.deploy("K1", world.b, since=moved)  # ...then at Beta, where it is today
    anne = world.employee(customer=world.a, uid="04A1")
    bob = world.employee(customer=world.b, first="Bob", uid="04B2")
    for h in (8, 17):
        world.punch("04A1", zh(2026, 3, 2, h))  # Anne at Alpha, before the move
        world.punch("04B2", zh(2026, 3, 16, h))  # Bob at Beta, after it
    world.punch("04A1", zh(2026, 3, 17, 8))  # Anne's badge at Beta's kiosk: not Alpha's time
    session.commit()

    assert sheet(session, anne, date(2026, 3, 2)).days[0].worked_seconds == 9 * 3600
    assert sheet(session, anne, date(2026, 3, 17)).punches == []
    assert sheet(session, bob, date(2026, 3, 16)).days[0].worked_seconds == 9 * 3600
    assert active_user_ids(session, world.a.id, 2026, 3) == {anne.id}
    assert active_user_ids(session, world.b.id, 2026, 3) == {bob.id}


def test_estimated_punch_near_the_month_end_counts_in_the_same_month_for_hr_and_billing(world, session):
    anne = world.employee(uid="04A1")
    world.employee(first="Bob", uid="04B2")
    boot_start = zh(2026, 3, 31, 20)
    # Clock never set (boot 3): Bob's tap arrives at once and anchors the boot...
    world.punch("04B2", None, boot=3, uptime_ms=3_600_000, received_at=boot_start + timedelta(hours=1))
    # ...Anne's, at 23:30 on 31 March, reaches the backend after midnight (April).
    world.punch("04A1", None, boot=3, uptime_ms=int(3.5 * 3_600_000), received_at=zh(2026, 4, 1, 0, 30))
    session.commit()

    [p] = sheet(session, anne, date(2026, 3, 31)).punches
    assert p.estimated and p.at == zh(2026, 3, 31, 23, 30)
    assert anne.id in active_user_ids(session, world.a.id, 2026, 3)
    assert anne.id not in active_user_ids(session, world.a.id, 2026, 4)


def test_unknown_badges_stay_with_the_customer_the_kiosk_served_at_the_tap(world, session):
    from noxus.core.security import Scope
    from noxus.hr import badges

    moved = zh(2026, 3, 15, 12)
    world.deploy("K1", world.a, until=moved)  # at Alpha until the 15th at noon, Beta's today
    world.deploy("K1", world.b, since=moved)
    world.employee(customer=world.b, uid="04B2")  # Beta's badge: unknown at Alpha
    world.punch("77AA", zh(2026, 3, 2, 8))  # nobody's badge, tapped at Alpha
    world.punch("04B2", zh(2026, 3, 3, 8))  # Beta's employee at Alpha's kiosk: unknown to Alpha
    world.punch("88BB", zh(2026, 3, 16, 8))  # nobody's badge, tapped at Beta
    # clock unset (boot 5): tapped at 11:00 on the 15th (Alpha's), reaching the backend at 13:00
    # (Beta's by arrival time): the boot anchor from its first tap places it at Alpha
    world.punch("66CC", None, boot=5, uptime_ms=0, received_at=zh(2026, 3, 15, 10))
    world.punch("99DD", None, boot=5, uptime_ms=3_600_000, received_at=zh(2026, 3, 15, 13))
    session.commit()

    def listed(customer):
        return sorted(
            (u.uid, u.punches, u.kiosks) for u in badges.unknown(session, Scope.only([customer.id]))
        )

    assert listed(world.a) == [
        ("04B2", 1, ["K1"]),
        ("66CC", 1, ["K1"]),
        ("77AA", 1, ["K1"]),
        ("99DD", 1, ["K1"]),
    ]
    assert listed(world.b) == [("88BB", 1, ["K1"])]
    [late] = [u for u in badges.unknown(session, Scope.only([world.a.id])) if u.uid == "99DD"]
    assert late.last_at == zh(2026, 3, 15, 11)
    # a month's checks see the same: Beta's March has only its own unknown badge
    since, until = zh(2026, 3, 1, 0), zh(2026, 4, 1, 0)
    assert [
        u.uid for u in badges.unknown(session, Scope.only([world.b.id]), world.b.id, since=since, until=until)
    ] == ["88BB"]
    everyone = badges.unknown(session, Scope.everything())
    assert sorted(u.uid for u in everyone) == ["04B2", "66CC", "77AA", "88BB", "99DD"]
