"""camt.054 import: deduplication, matching by reference, partial and over-payments, unmatched queue."""

from datetime import date

import pytest
from noxus.billing import payments
from noxus.billing.camt import CamtError, parse
from noxus.billing.models import Invoice, InvoiceStatus, Payment
from sqlmodel import select

from .camtgen import camt054
from .conftest import issued_run


@pytest.fixture
def invoice(session, books, meter, settings) -> Invoice:
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    return session.get(Invoice, issued_run(session, date(2026, 1, 1), settings, meter=meter).created[0])


def test_reimporting_the_same_camt_file_changes_nothing(session, invoice):
    xml = camt054(
        "M1",
        [{"ref": "TX1", "amount": invoice.total, "reference": invoice.reference, "day": date(2026, 1, 5)}],
    )
    first = payments.import_camt054(session, xml)
    session.commit()
    again = payments.import_camt054(session, xml)
    session.commit()
    assert (first.new, first.matched, again.new, again.duplicates) == (1, 1, 0, 1)
    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_paid == invoice.total
    assert invoice.paid_on == date(2026, 1, 5)
    assert len(session.exec(select(Payment)).all()) == 1


def test_partial_then_over_payment(session, invoice):
    xml = camt054(
        "M2",
        [
            {"ref": "P1", "amount": 10000, "reference": invoice.reference, "day": date(2026, 1, 6)},
            {"ref": "P2", "amount": invoice.total, "reference": invoice.reference, "day": date(2026, 1, 8)},
        ],
    )
    payments.import_camt054(session, xml)
    session.commit()
    session.refresh(invoice)
    p1, p2 = session.exec(select(Payment).order_by(Payment.id)).all()
    assert (p1.applied, p1.unapplied) == (10000, 0)
    assert (p2.applied, p2.unapplied) == (invoice.total - 10000, 10000)
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0


def test_unknown_reference_waits_in_the_unmatched_queue_until_staff_assign_it(session, invoice):
    xml = camt054(
        "M3",
        [
            {"ref": "U1", "amount": invoice.total, "reference": None, "day": date(2026, 1, 7)},
            {"ref": "D1", "amount": 500, "reference": None, "day": date(2026, 1, 7), "credit": False},
        ],
    )
    result = payments.import_camt054(session, xml)
    session.commit()
    assert (result.new, result.unmatched, len(result.skipped)) == (1, 1, 1)
    (waiting,) = payments.unmatched(session)
    assert waiting.note == "paiement facture"
    payments.assign(session, waiting.id, invoice.id, actor="staff")
    session.commit()
    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID and payments.unmatched(session) == []


def test_camt_parser_refuses_entities_and_foreign_documents():
    with pytest.raises(CamtError):
        parse(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(CamtError, match="not a camt.054"):
        parse(b"<Document><Other/></Document>")
    txs = parse(
        camt054(
            "M4",
            [
                {
                    "ref": "R",
                    "amount": 123456,
                    "reference": "RF18539007547034",
                    "day": date(2026, 2, 1),
                    "debtor": "Beta",
                }
            ],
        )
    )
    assert [(t.bank_ref, t.amount, t.reference, t.debtor_name, t.credit) for t in txs] == [
        ("R", 123456, "RF18539007547034", "Beta", True)
    ]
