"""The living demo's data (devstack/seed.py): seeded once, only into a demo database, with what a
new user should see — two customers in two languages, employees with badges, kiosks deployed, a
month of punches with the usual exceptions, last month's invoices one paid and one overdue."""

from datetime import date

import pytest
from noxus.core.settings import get_settings
from sqlmodel import Session, func, select

from devstack import seed

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_demo_is_seeded_once_with_two_customers_punches_and_last_months_invoices(engine):
    from noxus.billing.models import Invoice
    from noxus.core.users import User
    from noxus.fleet.models import Kiosk
    from noxus.hr.models import Badge, Employee
    from noxus.ingest.models import Punch
    from noxus.tenancy.models import Customer, Site

    with Session(engine) as s:
        assert seed.seed(s, get_settings(), today=TODAY) is True
    with Session(engine) as s:
        assert seed.seed(s, get_settings(), today=TODAY) is False  # idempotent
        customers = {c.name: c for c in s.exec(select(Customer))}
        assert {(c.language, c.canton) for c in customers.values()} == {("fr", "VD"), ("de", "BE")}
        for c in customers.values():
            n = s.exec(select(func.count()).select_from(Employee).where(Employee.customer_id == c.id)).one()
            assert 10 <= n <= 15
            assert s.exec(select(func.count()).select_from(Badge).where(Badge.customer_id == c.id)).one() == n
            assert s.exec(select(Site).where(Site.customer_id == c.id)).all()
        assert {k.id: k.status for k in s.exec(select(Kiosk))} == {f"DEMO-{n}": "deployed" for n in (1, 2, 3)}
        punches = s.exec(select(Punch)).all()
        assert len(punches) > 500
        uids = [p.badge_uid for p in punches]
        assert seed.UNKNOWN_BADGE in uids
        night = [p for p in punches if p.ts.hour in (20, 21) and p.badge_uid == seed.live_badges("be")[0]]
        assert night  # 22:00 local is 20:00/21:00 UTC
        invoices = s.exec(select(Invoice).where(Invoice.period == date(2026, 10, 1))).all()
        assert sorted(i.status for i in invoices) == ["open", "paid"]
        overdue = next(i for i in invoices if i.status == "open")
        assert overdue.due_date < TODAY and overdue.customer_id == customers["Bäckerei Aare"].id
        roles = {u.username: u.role for u in s.exec(select(User))}
        assert set(roles.values()) == {"admin", "billing", "technician", "hr_admin", "hr_viewer"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_demo_refuses_a_database_that_holds_other_data(engine):
    from noxus.tenancy.models import Customer

    with Session(engine) as s:
        s.add(Customer(name="A real customer SA"))
        s.commit()
    with Session(engine) as s, pytest.raises(seed.NotADemoDatabase, match="not the demo"):
        seed.seed(s, get_settings(), today=TODAY)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == 1
