"""The run with the real HR meter: active users come from noxus.hr.metering (punches in the
Zurich month), and punches that arrive after the snapshot become an adjustment next month."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from noxus.billing.invoices import lines_of
from noxus.billing.models import Invoice, LineKind
from noxus.hr.models import Badge, Employee
from noxus.ingest.models import Punch

from .conftest import issued_run

ZH = ZoneInfo("Europe/Zurich")


def test_additional_users_and_late_punch_adjustment_from_hr_metering(session, books, settings):
    c, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=1)
    kiosk = f"C{c.id}K1"
    seq = iter(range(1, 10_000))

    def employee(n: int) -> str:
        e = Employee(
            customer_id=c.id,
            first_name=f"E{n}",
            last_name="Test",
            personnel_number=f"P{n}",
            active_from=date(2025, 1, 1),
        )
        session.add(e)
        session.flush()
        uid = f"04{n:06X}"
        session.add(
            Badge(customer_id=c.id, uid=uid, employee_id=e.id, valid_from=datetime(2025, 1, 1, tzinfo=UTC))
        )
        return uid

    def punch(uid: str, local: datetime) -> None:
        ts = local.replace(tzinfo=ZH).astimezone(UTC)
        session.add(Punch(kiosk_id=kiosk, seq=next(seq), badge_uid=uid, ts=ts, received_at=ts))

    uids = [employee(n) for n in range(13)]
    for uid in uids[:12]:  # 12 punched in January (local time)
        punch(uid, datetime(2026, 1, 15, 8))
    punch(uids[12], datetime(2026, 2, 1, 0, 30))  # 31 Jan 23:30 UTC, but February in Zurich
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, issue_documents=False)
    feb = session.get(
        Invoice, issued_run(session, date(2026, 2, 1), settings, issue_documents=False).created[0]
    )
    users = [ln for ln in lines_of(session, feb.id) if ln.kind == LineKind.ADDITIONAL_USERS]
    assert [(ln.quantity, ln.amount) for ln in users] == [("2", 700)]  # 12 active, 10 included
    # a kiosk that was offline delivers a January punch of the 13th employee in February
    punch(uids[12], datetime(2026, 1, 30, 17))
    session.commit()
    mar = session.get(
        Invoice, issued_run(session, date(2026, 3, 1), settings, issue_documents=False).created[0]
    )
    adj = [ln for ln in lines_of(session, mar.id) if ln.kind == LineKind.USAGE_ADJUSTMENT]
    assert [(ln.quantity, ln.amount, ln.service_start) for ln in adj] == [("1", 350, date(2026, 1, 1))]
