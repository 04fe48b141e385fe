"""Gapless numbering at finalization, under concurrency, on SQLite and PostgreSQL."""

import random
import threading
import time
from datetime import date

from noxus.billing.invoices import Charge, InvoiceStateError, create_draft, finalize
from noxus.billing.models import Invoice, InvoiceStatus, LineKind
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from .conftest import issued_run

IBAN = "CH4431999123000889012"


def _drafts(session, customer_id, n, year=2026):
    ids = []
    for i in range(n):
        inv = create_draft(
            session,
            customer_id=customer_id,
            issue_date=date(year, 3, 1),
            payment_days=10,
            charges=[Charge(LineKind.SUBSCRIPTION, f"line {i}", "1", 1000 + i, 1000 + i, 810)],
        )
        ids.append(inv.id)
    session.commit()
    return ids


def _hammer(engine, ids, errors):
    order = list(ids)
    random.shuffle(order)
    for invoice_id in order:
        for _attempt in range(50):
            with Session(engine) as s:
                try:
                    finalize(s, invoice_id, iban=IBAN)
                    s.commit()
                    break
                except InvoiceStateError:
                    s.rollback()  # someone else finalized it first: its number is not consumed
                    break
                except OperationalError as exc:  # SQLite busy beyond its timeout: try again
                    s.rollback()
                    errors.append(str(exc))
                    time.sleep(0.01)


def test_concurrent_finalization_assigns_each_number_once_without_gaps(engine, session, books):
    c, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    ids = _drafts(session, c.id, 40)
    errors: list[str] = []
    threads = [threading.Thread(target=_hammer, args=(engine, ids, errors)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    invoices = session.exec(select(Invoice).where(Invoice.id.in_(ids))).all()
    assert {i.status for i in invoices} == {InvoiceStatus.OPEN}
    numbers = sorted(i.number for i in invoices)
    assert numbers == [f"2026-{n:06d}" for n in range(1, 41)]
    assert len({i.reference for i in invoices}) == 40


def test_numbering_restarts_each_year_and_credit_notes_have_their_own_series(session, books):
    c, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    a = _drafts(session, c.id, 2, year=2026)
    b = _drafts(session, c.id, 1, year=2027)
    for i in a + b:
        finalize(session, i, iban=IBAN)
    session.commit()
    assert [session.get(Invoice, i).number for i in a + b] == ["2026-000001", "2026-000002", "2027-000001"]
    from noxus.billing.invoices import credit

    note = credit(session, session.get(Invoice, a[0]), issue_date=date(2026, 3, 5), iban=IBAN, reason="test")
    session.commit()
    assert note.number == "NC-2026-000001" and note.total == -session.get(Invoice, a[0]).total
    assert session.get(Invoice, a[0]).status == InvoiceStatus.VOID


def test_finalizing_twice_is_refused_and_consumes_no_number(session, books):
    c, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    a, b = _drafts(session, c.id, 2)
    finalize(session, a, iban=IBAN)
    session.commit()
    try:
        finalize(session, a, iban=IBAN)
        raise AssertionError("finalized twice")
    except InvoiceStateError as exc:
        assert "not a draft" in str(exc)
    session.rollback()
    finalize(session, b, iban=IBAN)
    session.commit()
    assert session.get(Invoice, b).number == "2026-000002"


def test_two_concurrent_runs_create_each_invoice_once_with_gapless_numbers(
    engine, session, books, meter, settings
):
    for n in range(12):
        books.customer(f"Customer {n}", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    results = []

    def run():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(engine) as s:
                try:
                    results.append(issued_run(s, date(2026, 2, 1), settings, meter=meter, commit_every=3))
                    return
                except OperationalError:
                    s.rollback()
                    time.sleep(random.uniform(0.01, 0.1))
                except Exception as exc:  # noqa: BLE001 - surfaced below: a thread's exception is otherwise lost
                    results.append(exc)
                    return

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    invoices = session.exec(select(Invoice)).all()
    assert len(invoices) == 12
    assert sorted(i.number for i in invoices) == [f"2026-{n:06d}" for n in range(1, 13)]
    # a run that SQLite aborted ("database is locked") was retried; every run ended and a further
    # run finds everything invoiced
    assert len(results) == 3 and not [r for r in results if isinstance(r, Exception)], results
    with Session(engine) as s:
        assert issued_run(s, date(2026, 2, 1), settings, meter=meter).created == []
