from datetime import UTC, datetime

from noxus.hr.metering import active_user_ids, active_users, active_users_by_customer
from noxus.hr.models import Badge

from .conftest import zh


def test_active_users_counts_employees_who_punched_in_the_zurich_month(world, session):
    anne = world.employee(uid="04A1", first="Anne")
    bob = world.employee(uid="04B2", first="Bob")
    world.employee(uid="04C3", first="Carla")  # badge, never punched
    other = world.employee(customer=world.b, uid="04D4")
    world.punch("04A1", zh(2026, 3, 1, 0, 30))  # 1 March local = 28 Feb 23:30 UTC: March
    world.punch("04A1", zh(2026, 3, 2, 8))
    world.punch("04B2", zh(2026, 2, 28, 23, 30))  # February local
    world.punch("04D4", zh(2026, 3, 5, 8))  # customer B
    session.commit()
    assert active_user_ids(session, world.a.id, 2026, 3) == {anne.id}
    assert active_user_ids(session, world.a.id, 2026, 2) == {bob.id}
    assert active_user_ids(session, world.b.id, 2026, 3) == {other.id}
    assert active_users(session, world.a.id, 2026, 3, mode="badge") == 3


def test_punch_before_badge_was_valid_does_not_count(world, session):
    anne = world.employee(uid="04A1", since=zh(2026, 3, 10))
    world.punch("04A1", zh(2026, 3, 5, 8))
    session.commit()
    assert active_users(session, world.a.id, 2026, 3) == 0
    world.punch("04A1", zh(2026, 3, 11, 8))
    session.commit()
    assert active_user_ids(session, world.a.id, 2026, 3) == {anne.id}


def test_badge_mode_ignores_badges_ended_before_the_month(world, session):
    e = world.employee()
    session.add(
        Badge(
            customer_id=world.a.id,
            uid="0AAA",
            employee_id=e.id,
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
            valid_to=zh(2026, 3, 1),
        )
    )
    session.commit()
    assert active_users(session, world.a.id, 2026, 3, mode="badge") == 0
    assert active_users(session, world.a.id, 2026, 2, mode="badge") == 1


def test_punches_on_another_customers_kiosk_do_not_make_an_active_user(world, session):

    world.deploy("KB", world.b)
    world.employee(uid="04A1")
    world.punch("04A1", zh(2026, 3, 2, 8), kiosk="KB")
    session.commit()
    assert active_users(session, world.a.id, 2026, 3) == 0


def test_many_customers_at_once_count_as_each_one_alone(world, session):
    """What billing's monthly run asks: one call for every customer of the run."""
    world.employee(uid="04A1")
    world.employee(uid="04A2")
    world.employee(customer=world.b, uid="04B1")
    world.punch("04A1", zh(2026, 3, 2, 8))
    world.punch("04A2", zh(2026, 3, 3, 8))
    world.punch("04B1", zh(2026, 3, 4, 8))
    session.commit()
    ids = [world.a.id, world.b.id, 999_999]
    assert (
        active_users_by_customer(session, ids, 2026, 3)
        == {
            world.a.id: 2,
            world.b.id: 1,
            999_999: 0,
        }
        == {cid: active_users(session, cid, 2026, 3) for cid in ids}
    )
    assert active_users_by_customer(session, ids, 2026, 3, mode="badge") == {
        world.a.id: 2,
        world.b.id: 1,
        999_999: 0,
    }
