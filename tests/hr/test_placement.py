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
