"""Fourteen months (Nov 2023 - Dec 2024) with a frozen clock and three customers:
- Ponctuel SA pays every invoice five days after it is issued (a CHF 10 goodwill credit note on
  its November 2024 invoice first);
- Tardif Sàrl pays the March 2024 invoice only after two reminders (suspended in between);
- Jamais SA stops paying from May 2024, reaches §7.6 retrieval, then pays before the visit;
and, from September 2024, Zweifach AG (German-speaking, two contracts) whose second contract ends
on 30 November while the first runs on. The September run happens late (on the 3rd); the
October run fails on the 1st and the next day's catch-up invoices the month.
Every invoice, number, total, state, fee, notice and kiosk status is checked. Prices change on
1 July 2024 (old invoices keep theirs); VAT moves from 7.7 % to 8.1 % on 1 January 2024."""

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import time_machine
from noxus.billing import dunning, payments, retrieval
from noxus.billing.contracts import end_contract
from noxus.billing.invoices import credit_amount, lines_of
from noxus.billing.models import (
    BillingProfile,
    Contract,
    Document,
    Invoice,
    InvoiceStatus,
    LineKind,
    OverdueState,
    PlanVersion,
    Reminder,
    RetrievalCase,
    RetrievalStatus,
)
from noxus.billing.run import add_months, catch_up, run_month
from noxus.core.audit_entry import AuditEntry
from noxus.core.outbox import OutboxMail
from sqlmodel import select

from .camtgen import camt054
from .conftest import billing_settings

ZH = ZoneInfo("Europe/Zurich")
INCLUDED, PER_USER, PER_KIOSK, SETUP = 10, 350, 1500, 25000
USERS = {"A": 8, "B": 12, "C": 15}
KIOSKS = {"A": 1, "B": 1, "C": 2}
LATE_RUN = date(2024, 9, 3)  # the September run, two days late
FAILED_RUN = date(2024, 10, 1)  # the October run fails; the daily catch-up of the 2nd invoices it
SECOND_ENDS = date(2024, 11, 30)  # Zweifach's second contract: last day


def broken_meter(*args, **kwargs):
    raise RuntimeError("database connection lost")


def fee_on(day: date) -> int:
    return 5200 if day >= date(2024, 7, 1) else 4900


def rate(day: date) -> int:
    return 810 if day >= date(2024, 1, 1) else 770


def expected_total(who: str, period: date, adjustment_users: int = 0) -> int:
    """Independent arithmetic (Decimal): VAT per rate on the base, total rounded to 0.05."""
    bases: dict[int, int] = {}

    def add(amount: int, bp: int):
        bases[bp] = bases.get(bp, 0) + amount

    if period == date(2023, 11, 1):
        add(SETUP, rate(period))
    add(fee_on(period) + PER_KIOSK * KIOSKS[who], rate(period))
    if period > date(2023, 11, 1):
        prev = add_months(period, -1)
        add(max(0, USERS[who] - INCLUDED) * PER_USER, rate(prev))
    if adjustment_users:
        add(adjustment_users * PER_USER, rate(add_months(period, -2)))
    exact = sum(Decimal(b) * (1 + Decimal(bp) / 10000) for bp, b in bases.items())
    vat = sum(int((Decimal(b) * bp / 10000).quantize(Decimal(1), ROUND_HALF_UP)) for bp, b in bases.items())
    net = sum(bases.values())
    assert abs((net + vat) - exact) < 1
    return int((Decimal(net + vat) / 5).quantize(Decimal(1), ROUND_HALF_UP)) * 5


def test_fourteen_months_three_customers(session, books, meter):
    settings = billing_settings(billing_suspend_at_level=2, billing_auto_issue_days=0)
    session.add(
        PlanVersion(
            plan_id=books.plan.id,
            effective_from=date(2024, 7, 1),
            monthly_fee=5200,
            monthly_fee_per_kiosk=PER_KIOSK,
            users_included=INCLUDED,
            price_per_additional_user=PER_USER,
            setup_fee=SETUP,
        )
    )
    who = {}
    for key, name in (("A", "Ponctuel SA"), ("B", "Tardif Sàrl"), ("C", "Jamais SA")):
        customer, _ = books.customer(name, start=date(2023, 11, 1), kiosks=KIOSKS[key])
        who[key] = customer.id
    # Zweifach AG: German, two contracts from September 2024, one kiosk each
    zweifach, _first = books.customer("Zweifach AG", start=date(2024, 9, 1), kiosks=1, language="de")
    second = books.second_contract(zweifach, start=date(2024, 9, 1))
    session.commit()
    key_of = {v: k for k, v in who.items()}
    key_of[zweifach.id] = "D"
    credit_note = None
    # Ponctuel: Feb 2024 counted 8 at the March run; late punches arrive afterwards -> 11 users.
    day = date(2023, 11, 1)
    bank_seq = 0
    case_id = None
    events = []
    while day <= date(2024, 12, 31):
        with time_machine.travel(datetime(day.year, day.month, day.day, 7, 0, tzinfo=ZH), tick=False):
            if day.day == 1:
                for key, cid in who.items():
                    prev = add_months(day, -1)
                    meter.set(cid, prev.year, prev.month, USERS[key])
            if day == date(2024, 3, 2):
                meter.set(who["A"], 2024, 2, 11)
            # Zweifach's contracts invoiced this month (the second has nothing due after its end)
            due_d = 0 if day < date(2024, 9, 1) else (1 if day > SECOND_ENDS else 2)
            if day == FAILED_RUN:
                with pytest.raises(RuntimeError, match="connection lost"):
                    run_month(session, day, settings, meter=broken_meter, issue=True, issue_documents=False)
                session.rollback()
                assert not session.exec(select(Invoice).where(Invoice.period == FAILED_RUN)).all()
            elif day == FAILED_RUN + timedelta(days=1):
                # the daily job: every month of the catch-up window, only October is missing
                results = catch_up(session, settings, meter=meter, issue_documents=False)
                assert [len(r.created) for r in results][-1] == 3 + due_d
                assert sum(len(r.created) for r in results) == 3 + due_d
            elif (day.day == 1 and day != date(2024, 9, 1)) or day == LATE_RUN:
                # invoice PDFs are covered by test_qrbill; rendering them here only costs time
                result = run_month(session, day, settings, meter=meter, issue=True, issue_documents=False)
                assert len(result.created) == 3 + due_d and result.errors == []
                assert (
                    run_month(session, day, settings, meter=meter, issue=True, issue_documents=False).created
                    == []
                )  # idempotent
            if day == date(2024, 11, 3):  # a goodwill credit of CHF 10.00 on Ponctuel's November invoice
                nov_a = session.exec(
                    select(Invoice).where(
                        Invoice.customer_id == who["A"], Invoice.period == date(2024, 11, 1)
                    )
                ).one()
                credit_note = credit_amount(
                    session, nov_a, 1000, issue_date=day, iban=settings.billing_iban, reason="kiosk outage"
                )
                session.commit()
            if day == date(2024, 11, 15):  # notice on the second contract; the first runs on
                end_contract(session, session.get(Contract, second.id), SECOND_ENDS, "notice", day, settings)
                session.commit()
            dunning.run_dunning(session, day, settings)
            # --- who pays what, when --------------------------------------------------------
            txs = []
            open_invoices = select(Invoice).where(
                Invoice.status == InvoiceStatus.OPEN, Invoice.kind == "invoice"
            )
            for inv in session.exec(open_invoices).all():
                k = key_of[inv.customer_id]
                pays = False
                if k == "D":  # pays on time, except September: after the first (German) reminder
                    if inv.period == date(2024, 9, 1):
                        pays = inv.reminder_level == 1 and day == inv.due_date + timedelta(days=15)
                    else:
                        pays = day == inv.issue_date + timedelta(days=5)
                elif (
                    k == "A"
                    or (k == "B" and inv.period != date(2024, 3, 1))
                    or (k == "C" and not date(2024, 5, 1) <= inv.period <= date(2024, 7, 1))
                ):
                    pays = day == inv.issue_date + timedelta(days=5)
                elif k == "B":
                    pays = inv.reminder_level == 2 and day == inv.due_date + timedelta(days=25)
                if pays:
                    bank_seq += 1
                    txs.append(bank_credit(bank_seq, inv, day, k))
            # --- Jamais SA: §7.6 -------------------------------------------------------------
            if day == date(2024, 7, 12):
                case = retrieval.open_case(session, who["C"])
                case_id = case.id
                retrieval.record_notice_sent(
                    session,
                    case.id,
                    datetime(2024, 7, 12, 7, tzinfo=ZH),
                    "registered letter + e-mail",
                    actor="staff:marie",
                )
                session.commit()
            if day == date(2024, 7, 15):
                try:
                    retrieval.schedule_visit(
                        session,
                        case_id,
                        datetime(2024, 7, 22, 12, 30, tzinfo=ZH),
                        datetime(2024, 7, 22, 13, 30, tzinfo=ZH),
                        actor="staff:marie",
                    )
                    raise AssertionError("lunch break is outside support hours")
                except ValueError as exc:
                    assert "outside support hours" in str(exc)
                retrieval.schedule_visit(
                    session,
                    case_id,
                    datetime(2024, 7, 22, 9, 0, tzinfo=ZH),
                    datetime(2024, 7, 22, 11, 0, tzinfo=ZH),
                    actor="staff:marie",
                )
                session.commit()
                assert {k.status for k in _kiosks(session, "C", who)} == {"retrieval_scheduled"}
            if day == date(2024, 7, 19):  # pays everything before the visit
                for inv in session.exec(
                    select(Invoice).where(
                        Invoice.customer_id == who["C"], Invoice.status == InvoiceStatus.OPEN
                    )
                ).all():
                    bank_seq += 1
                    txs.append(bank_credit(bank_seq, inv, day, "C"))
            if txs:
                xml = camt054(f"MSG{day:%Y%m%d}", txs)
                assert payments.import_camt054(session, xml).matched == len(txs)
                session.commit()
                assert payments.import_camt054(session, xml).new == 0  # a re-import changes nothing
                session.commit()
            events.append((day, {k: _state(session, cid) for k, cid in who.items()}))
        day += timedelta(days=1)

    # --- every invoice: number, total, state ------------------------------------------------------
    every = session.exec(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id)).all()
    # gapless, in order, through the late run, the failed one and the catch-up (Zweifach: 2+2+2+1)
    numbers = [i.number for i in every]
    assert numbers == [f"2023-{n:06d}" for n in range(1, 7)] + [f"2024-{n:06d}" for n in range(1, 36 + 7 + 1)]
    invoices = [i for i in every if key_of[i.customer_id] != "D"]
    assert len(invoices) == 14 * 3
    # the late run and the catch-up date their invoices the day they happen; due 10 days later
    by_period = {(key_of[i.customer_id], i.period): i for i in invoices}
    for period, issued in ((date(2024, 9, 1), LATE_RUN), (date(2024, 10, 1), FAILED_RUN + timedelta(days=1))):
        assert {(i.issue_date, i.due_date) for (k, p), i in by_period.items() if p == period} == {
            (issued, issued + timedelta(days=10))
        }
    for inv in invoices:
        k = key_of[inv.customer_id]
        adj = 1 if (k == "A" and inv.period == date(2024, 4, 1)) else 0
        assert inv.total == expected_total(k, inv.period, adj), (k, inv.period)
        assert inv.total % 5 == 0
        assert sum(ln.amount for ln in lines_of(session, inv.id)) + inv.vat_total == inv.total
        assert inv.status == InvoiceStatus.PAID, (k, inv.period)
        assert inv.balance == 0
    # mixed rates on the January 2024 invoice: subscription at 8.1 %, December users at 7.7 %
    jan_b = next(i for i in invoices if i.period == date(2024, 1, 1) and key_of[i.customer_id] == "B")
    assert [r for r, _, _ in jan_b.vat_breakdown] == [770, 810]
    # late punches: one adjustment line on Ponctuel's April invoice, for February
    adj = [ln for i in invoices for ln in lines_of(session, i.id) if ln.kind == LineKind.USAGE_ADJUSTMENT]
    assert [(ln.quantity, ln.amount, ln.service_start) for ln in adj] == [("1", 350, date(2024, 2, 1))]

    # --- Tardif: two reminders, fees and interest, suspended then cleared --------------------------
    march_b = next(i for i in invoices if i.period == date(2024, 3, 1) and key_of[i.customer_id] == "B")
    reminders = session.exec(
        select(Reminder).where(Reminder.invoice_id == march_b.id).order_by(Reminder.level)
    ).all()
    principal = march_b.total
    i1 = int((Decimal(principal) * 500 * 10 / (10000 * 365)).quantize(Decimal(1), ROUND_HALF_UP))
    i2 = int((Decimal(principal) * 500 * 10 / (10000 * 365)).quantize(Decimal(1), ROUND_HALF_UP))
    assert [(r.level, r.issued_on, r.fee, r.interest) for r in reminders] == [
        (1, date(2024, 3, 21), 2000, i1),
        (2, date(2024, 3, 31), 2000, i2),
    ]
    assert march_b.fees_charged == 4000 + i1 + i2 and march_b.amount_paid == principal + 4000 + i1 + i2
    assert march_b.paid_on == date(2024, 4, 5)
    b_states = {d: s["B"] for d, s in events}
    assert b_states[date(2024, 3, 11)] == OverdueState.GOOD
    assert b_states[date(2024, 3, 12)] == OverdueState.OVERDUE  # in default without any reminder (§7.1)
    assert b_states[date(2024, 3, 31)] == OverdueState.SUSPENDED
    assert b_states[date(2024, 4, 5)] == OverdueState.GOOD
    assert session.exec(select(Reminder).join(Invoice).where(Invoice.customer_id == who["A"])).all() == []

    # --- Jamais: reminders, suspension, retrieval at two months past due, cancelled by payment ----
    c_states = {d: s["C"] for d, s in events}
    assert c_states[date(2024, 5, 31)] == OverdueState.SUSPENDED
    assert c_states[date(2024, 7, 10)] == OverdueState.SUSPENDED
    assert c_states[date(2024, 7, 11)] == OverdueState.RETRIEVAL  # May invoice due 11 May + 2 months
    assert c_states[date(2024, 7, 19)] == OverdueState.GOOD
    case = session.get(RetrievalCase, case_id)
    assert (case.opened_on, case.status, case.reason) == (
        date(2024, 7, 11),
        RetrievalStatus.CANCELLED,
        "unpaid",
    )
    may_c = next(i for i in invoices if i.period == date(2024, 5, 1) and key_of[i.customer_id] == "C")
    jun_c = next(i for i in invoices if i.period == date(2024, 6, 1) and key_of[i.customer_id] == "C")
    jul_c = next(i for i in invoices if i.period == date(2024, 7, 1) and key_of[i.customer_id] == "C")
    assert [r.level for r in session.exec(select(Reminder).where(Reminder.invoice_id == may_c.id))] == [
        1,
        2,
        3,
    ]
    # the notice's amount: what is past due on 11 July, May and June with their reminder fees
    # (July's invoice falls due that very day: not yet past due)
    assert jul_c.due_date == date(2024, 7, 11)
    assert case.amount_due == sum(_balance_on(session, i, date(2024, 7, 11)) for i in (may_c, jun_c))
    assert case.deadline == date(2024, 7, 21)
    notice = session.exec(select(Document).where(Document.case_id == case.id)).one()
    assert notice.kind == "notice" and notice.pdf.startswith(b"%PDF")
    text = pdf_text(notice.pdf)
    assert "Contact Jamais SA" in text and "SN-003-1" in text and "SN-003-2" in text and "21.07.2024" in text
    mail = session.exec(
        select(OutboxMail).where(OutboxMail.attachment == f"billing_document:{notice.id}")
    ).one()
    assert mail.to_addr == f"contact@c{who['C']}.example"
    assert {k.status for k in _kiosks(session, "C", who)} == {"deployed"}
    assert {k.status for k in _kiosks(session, "A", who)} == {"deployed"}
    kinds = [
        e.action
        for e in session.exec(
            select(AuditEntry)
            .where(AuditEntry.object_type == "retrieval_case", AuditEntry.object_id == str(case.id))
            .order_by(AuditEntry.id)
        )
    ]
    assert kinds == ["retrieval.flagged", "retrieval.notified", "retrieval.scheduled", "retrieval.cancelled"]
    profile_c = session.exec(select(BillingProfile).where(BillingProfile.customer_id == who["C"])).one()
    assert profile_c.suspended_at is None and profile_c.overdue_state == OverdueState.GOOD

    # --- Ponctuel: the credit note, numbered apart, paid net of it ---------------------------------
    nov_a = by_period[("A", date(2024, 11, 1))]
    assert (credit_note.number, credit_note.total, credit_note.credited_invoice_id) == (
        "NC-2024-000001",
        -1000,
        nov_a.id,
    )
    assert (nov_a.amount_credited, nov_a.amount_paid, nov_a.status) == (
        1000,
        nov_a.total - 1000,
        InvoiceStatus.PAID,
    )

    # --- Zweifach: German lines and reminder; the second contract's end flags only its kiosk -------
    d_invoices = [i for i in every if key_of[i.customer_id] == "D"]
    assert [(i.period, i.contract_id) for i in d_invoices] == [
        (p, c)
        for p in (date(2024, 9, 1), date(2024, 10, 1), date(2024, 11, 1))
        for c in (_first.id, second.id)
    ] + [(date(2024, 12, 1), _first.id)]
    sept = d_invoices[0]
    assert [ln.description for ln in lines_of(session, sept.id)][:3] == [
        "Einrichtungsgebühr",
        "NoxusTime-Abonnement, September 2024",
        "NoxusTime-Terminals (1), September 2024",
    ]
    assert all(i.language == "de" and i.status == InvoiceStatus.PAID for i in d_invoices)
    reminder = session.exec(select(Reminder).where(Reminder.invoice_id == sept.id)).one()
    assert (reminder.level, reminder.issued_on) == (1, date(2024, 9, 23))
    mails = session.exec(
        select(OutboxMail).where(OutboxMail.to_addr == f"compta@c{zweifach.id}.example")
    ).all()
    assert [m.subject for m in mails if "Mahnung" in m.subject], [m.subject for m in mails]
    assert {k.id: k.status for k in _kiosks(session, "D", {"D": zweifach.id})} == {
        f"C{zweifach.id}K1": "deployed",
        f"C{zweifach.id}K9": "retrieval_eligible",
    }
    ended = session.exec(
        select(RetrievalCase).where(
            RetrievalCase.customer_id == zweifach.id, RetrievalCase.reason == "contract_end"
        )
    ).one()
    assert ended.contract_id == second.id


def pdf_text(pdf: bytes) -> str:
    return "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(pdf))


def bank_credit(seq: int, inv: Invoice, day: date, debtor: str) -> dict:
    """A credit on the bank statement paying the invoice's balance with its QR reference."""
    return {
        "ref": f"BANK{seq}",
        "amount": inv.balance,
        "reference": inv.reference,
        "day": day,
        "debtor": debtor,
    }


def _kiosks(session, key, who):
    from noxus.fleet.retrieval import kiosks_at_customer

    session.expire_all()
    return kiosks_at_customer(session, who[key])


def _state(session, customer_id):
    return session.exec(
        select(BillingProfile.overdue_state).where(BillingProfile.customer_id == customer_id)
    ).one()


def _balance_on(session, invoice, day):
    fees = sum(
        r.fee + r.interest
        for r in session.exec(
            select(Reminder).where(Reminder.invoice_id == invoice.id, Reminder.issued_on <= day)
        )
    )
    return invoice.total + fees
