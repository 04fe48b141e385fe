from datetime import date

from noxus.billing.invoices import lines_of
from noxus.billing.models import Invoice, InvoiceStatus, LineKind
from sqlalchemy import event
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


class Statements:
    """SQL statements sent to the database while inside the block (an executemany is one)."""

    def __init__(self, engine):
        self.engine, self.sql = engine, []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        self.sql.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_the_run_costs_as_many_statements_for_30_contracts_as_for_3(engine, session, books, meter, settings):
    """Set-based: prices, profiles, languages, kiosks, snapshots and metering are loaded once per
    run and the invoices, lines, snapshots and audit entries written in one INSERT each."""
    ids = []
    for n in range(33):
        c, _ = books.customer(f"Customer {n}", start=date(2026, 1, 1), language=("fr", "de")[n % 2])
        ids.append(c.id)
        meter.set(c.id, 2026, 1, 8 + n % 7)
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False)
    counts = []
    for group in (ids[:3], ids[3:]):
        with Statements(engine) as st:
            r = issued_run(
                session, date(2026, 2, 1), settings, meter=meter, customer_ids=group, issue_documents=False
            )
        assert len(r.created) == len(group) and r.errors == []
        counts.append(len(st.sql))
    assert counts[0] == counts[1], counts
    # and a re-run finds nothing to do with one SELECT
    with Statements(engine) as st:
        again = issued_run(session, date(2026, 2, 1), settings, meter=meter, issue_documents=False)
    assert again.created == [] and again.existing == 33
    assert len(st.sql) == 1 and st.sql[0].lstrip().upper().startswith("SELECT"), st.sql


def test_each_customers_lines_are_in_its_language_in_one_run(session, books, meter, settings):
    fr, _ = books.customer("Alpha SA", start=date(2026, 1, 1), language="fr")
    de, _ = books.customer("Beta AG", start=date(2026, 1, 1), language="de")
    session.commit()
    meter.set(fr.id, 2026, 1, 12)
    meter.set(de.id, 2026, 1, 12)
    issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False)
    issued_run(session, date(2026, 2, 1), settings, meter=meter, issue_documents=False)
    feb = {
        inv.customer_id: [ln.description for ln in lines_of(session, inv.id)]
        for inv in session.exec(select(Invoice).where(Invoice.period == date(2026, 2, 1)))
    }
    assert feb[fr.id][0] == "Abonnement NoxusTime, février 2026", feb[fr.id]
    assert feb[de.id][0] == "NoxusTime-Abonnement, Februar 2026", feb[de.id]
    assert any(d.startswith("Zusätzliche Benutzer, Januar 2026") for d in feb[de.id]), feb[de.id]
