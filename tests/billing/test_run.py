from datetime import date

from noxus.billing.invoices import lines_of
from noxus.billing.models import Invoice, InvoiceStatus, LineKind
from sqlmodel import select

from .conftest import issued_run


def test_first_run_bills_setup_subscription_in_advance_and_kiosks(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    result = issued_run(session, date(2026, 1, 1), settings, meter=meter)
    assert len(result.created) == 1
    inv = session.get(Invoice, result.created[0])
    assert inv.status == InvoiceStatus.OPEN and inv.number == "2026-000001"
    kinds = [(ln.kind, ln.amount, ln.vat_rate_bp) for ln in lines_of(session, inv.id)]
    assert kinds == [
        (LineKind.SETUP, 25000, 810),
        (LineKind.SUBSCRIPTION, 4900, 810),
        (LineKind.ROUNDING, -2, None),
    ]
    # 299.00 net, VAT 8.1 % = 24.219 -> 24.22, 323.22 -> rounded to 323.20 (a -0.02 line)
    assert (inv.subtotal, inv.vat_total, inv.rounding, inv.total) == (29900, 2422, -2, 32320)
    assert inv.due_date == date(2026, 1, 11)


def test_rerun_of_the_same_month_creates_nothing(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    first = issued_run(session, date(2026, 1, 1), settings, meter=meter)
    again = issued_run(session, date(2026, 1, 15), settings, meter=meter)
    assert len(first.created) == 1 and again.created == [] and again.existing == 1
    assert len(session.exec(select(Invoice)).all()) == 1
