"""A customer's standing is derived from facts at read time; suspension blocks what the settings
say (HR exports, new badges) with a message naming the invoice, and never the recording of punches."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import noxus.billing
import time_machine
from noxus.billing import dunning
from noxus.billing.state import CustomerState, standing, standings
from noxus.core.i18n import use_language
from noxus.ingest.models import Punch
from noxus.ingest.service import Incoming, ingest
from sqlmodel import func, select

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch

from .conftest import billing_settings, issued_run, pay_in_full


def dun(session, day, settings):
    """Dunning as the daily job runs it: on that day (frozen clock)."""
    with time_machine.travel(
        datetime(day.year, day.month, day.day, 7, tzinfo=ZoneInfo("Europe/Zurich")), tick=False
    ):
        return dunning.run_dunning(session, None, settings)


def _invoice(session, books, meter, settings, name="Alpha SA"):
    customer, _ = books.customer(name, start=date(2026, 1, 1), kiosks=1)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False).created
    return customer, inv_id


def test_customer_is_overdue_the_day_after_the_due_date_without_any_job_running(session, books, meter):
    settings = billing_settings()
    customer, _ = _invoice(session, books, meter, settings)
    assert standing(session, customer.id, date(2026, 1, 11), settings).state == CustomerState.GOOD
    s = standing(session, customer.id, date(2026, 1, 12), settings)
    assert (s.state, s.invoice_number, s.due_date) == (
        CustomerState.OVERDUE,
        "2026-000001",
        date(2026, 1, 11),
    )


def test_reminders_issued_move_the_standing_to_reminder_n_then_suspended(session, books, meter):
    settings = billing_settings(billing_suspend_at_level=2)
    customer, _ = _invoice(session, books, meter, settings)
    dun(session, date(2026, 1, 21), settings)
    assert standing(session, customer.id, date(2026, 1, 21), settings).label == "reminder 1"
    assert standing(session, customer.id, date(2026, 1, 30), settings).state == CustomerState.REMINDER
    dun(session, date(2026, 1, 31), settings)
    s = standings(session, None, date(2026, 1, 31), settings)[customer.id]
    assert (s.state, s.reminder_level) == (CustomerState.SUSPENDED, 2)


def test_suspension_refuses_exports_and_badges_naming_the_overdue_invoice(session, books, meter):
    settings = billing_settings(billing_suspend_at_level=1)
    customer, _ = _invoice(session, books, meter, settings)
    assert noxus.billing.restrictions(session, customer.id, date(2026, 1, 20), settings).exports is None
    dun(session, date(2026, 1, 21), settings)
    r = noxus.billing.restrictions(session, customer.id, date(2026, 1, 21), settings)
    with use_language("en"):
        assert "HR exports are suspended" in r.exports and "invoice 2026-000001" in r.exports
        assert "due 11.01.2026" in r.exports and "Recording punches continues" in r.exports
        assert "New badges are suspended" in r.badges
    with use_language("de"):
        assert r.exports.startswith("HR-Exporte sind für diesen Kunden gesperrt: Rechnung 2026-000001")


def test_suspension_blocks_only_what_the_settings_list(session, books, meter):
    settings = billing_settings(billing_suspend_at_level=1, billing_suspend_restricts=["exports"])
    customer, _ = _invoice(session, books, meter, settings)
    dun(session, date(2026, 1, 21), settings)
    r = noxus.billing.restrictions(session, customer.id, date(2026, 1, 21), settings)
    assert r.exports is not None and r.badges is None


def test_a_suspended_customers_kiosk_still_records_punches(session, books, meter, engine):
    settings = billing_settings(billing_suspend_at_level=1)
    customer, _ = _invoice(session, books, meter, settings)
    dun(session, date(2026, 1, 21), settings)
    assert noxus.billing.restrictions(session, customer.id, date(2026, 1, 21), settings).exports
    kiosk = f"C{customer.id}K1"
    t0 = 1_768_980_000_000  # 2026-01-21
    msg = Incoming(
        protocol.topic(kiosk, protocol.PUNCH),
        protocol.encode_punch_batch(kiosk, [WirePunch(s, "04A1B2C3", t0 + s) for s in (1, 2, 3)], None),
    )
    out = ingest(session, [msg])
    session.commit()
    assert out.stored == 3 and list(out.acks.values()) == [3]
    assert session.exec(select(func.count()).select_from(Punch).where(Punch.kiosk_id == kiosk)).one() == 3


def test_payment_lifts_the_suspension_at_once(session, books, meter):
    settings = billing_settings(billing_suspend_at_level=1)
    customer, inv_id = _invoice(session, books, meter, settings)
    dun(session, date(2026, 1, 21), settings)
    pay_in_full(session, inv_id, date(2026, 1, 22))
    r = noxus.billing.restrictions(session, customer.id, date(2026, 1, 22), settings)
    assert r.standing.state == CustomerState.GOOD and r.exports is None and r.badges is None
