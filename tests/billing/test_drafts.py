"""Draft -> review -> issue, business dates, credit notes, catch-up, contract kiosks, match
suggestions, amounts as typed, placeholder creditor data — each with a frozen clock."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from fastapi.testclient import TestClient
from noxus.billing import config, drafts, dunning, issuing, payments
from noxus.billing.camt import CamtError
from noxus.billing.contracts import end_contract
from noxus.billing.dates import BusinessDateError
from noxus.billing.invoices import InvoiceStateError, credit_amount, lines_of
from noxus.billing.models import (
    Contract,
    ContractKiosk,
    Invoice,
    InvoiceStatus,
    Payment,
    Reminder,
)
from noxus.billing.run import catch_up, run_month
from noxus.billing.schemas import parse_chf
from noxus.core.audit_entry import AuditEntry
from noxus.core.outbox import OutboxMail
from noxus.core.security import Role, override_principal
from noxus.fleet.retrieval import kiosks_at_customer
from sqlmodel import func, select

from .camtgen import camt054
from .conftest import billing_settings, issued_run

ZH = ZoneInfo("Europe/Zurich")


def at(y, m, d, h=8):
    return time_machine.travel(datetime(y, m, d, h, tzinfo=ZH), tick=False)


def count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_the_run_makes_drafts_without_numbers_or_mail_and_previews_the_totals(
    session, books, meter, settings
):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=1)
    books.customer("Beta SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 5):
        r = run_month(session, date(2026, 1, 1), settings, meter=meter)
    assert len(r.created) == 2
    invs = [session.get(Invoice, i) for i in r.created]
    assert {i.status for i in invs} == {InvoiceStatus.DRAFT} and {i.number for i in invs} == {None}
    assert count(session, OutboxMail) == 0
    p = drafts.preview(session, date(2026, 1, 1))
    assert p.drafts == 2 and p.total == sum(i.total for i in invs) == sum(c.total for c in p.customers)


def test_issue_date_is_the_day_of_issue_and_the_due_date_counts_from_it(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 1):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
    with at(2026, 1, 7):  # reviewed and issued a week later: not overdue on the day it is issued
        (inv,) = issuing.issue_drafts(session, [draft_id], settings, date(2026, 1, 7), "clerk")
        session.commit()
    assert (inv.number, inv.issue_date, inv.due_date) == ("2026-000001", date(2026, 1, 7), date(2026, 1, 17))
    assert count(session, OutboxMail) == 1


def test_a_clerk_edits_a_draft_line_and_the_totals_follow(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 2):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
    # set-up 250.00 -> 120.00 as agreed, plus a line "Formation" 2 x 4.50 typed as the clerk types it
    drafts.set_line(
        session,
        draft_id,
        position=1,
        description="Frais de mise en service (remise)",
        quantity="1",
        unit_price=parse_chf("120.00"),
    )
    inv = drafts.set_line(
        session, draft_id, position=None, description="Formation", quantity="2", unit_price=parse_chf("4,50")
    )
    session.commit()
    amounts = [(ln.kind, ln.amount) for ln in lines_of(session, draft_id)]
    assert amounts[:3] == [("setup", 12000), ("subscription", 4900), ("manual", 900)]
    assert inv.subtotal == 17800 and inv.total % 5 == 0
    assert sum(a for _, a in amounts) + inv.vat_total == inv.total


def test_a_draft_edited_after_issue_is_refused_and_nothing_changes(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter).created
    before = [(ln.description, ln.amount) for ln in lines_of(session, inv_id)]
    with pytest.raises(InvoiceStateError, match="2026-000001 is already issued .* credit note"):
        drafts.set_line(session, inv_id, position=1, description="x", quantity="1", unit_price=1)
    with pytest.raises(InvoiceStateError, match="already issued"):
        drafts.delete_draft(session, inv_id)
    session.rollback()
    assert [(ln.description, ln.amount) for ln in lines_of(session, inv_id)] == before


def test_deleting_a_draft_gives_back_what_it_consumed_so_the_next_run_drafts_it_again(
    session, books, meter, settings
):
    _, contract = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 2):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
        first_total = session.get(Invoice, draft_id).total
        drafts.delete_draft(session, draft_id, "clerk")
        session.commit()
        c = session.get(Contract, contract.id)
        assert (c.billed_through, c.setup_invoiced) == (None, False)
        (again,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
    assert session.get(Invoice, again).total == first_total
    assert count(session, AuditEntry, AuditEntry.action == "invoice.draft_deleted") == 1


def test_automatic_issue_after_the_grace_period(session, books, meter):
    settings = billing_settings(billing_auto_issue_days=3)
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 1):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
    assert issuing.auto_issue(session, settings, date(2026, 1, 3)) == []
    with at(2026, 1, 4):
        (inv,) = issuing.auto_issue(session, settings, date(2026, 1, 4))
    assert (inv.id, inv.issue_date, inv.status) == (draft_id, date(2026, 1, 4), InvoiceStatus.OPEN)


def test_daily_catch_up_invoices_every_missed_month_in_order_and_then_nothing(session, books, meter):
    settings = billing_settings(billing_catch_up_months=3, billing_auto_issue_days=0)
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 3, 9):  # the host was down on 1 January, 1 February and 1 March
        created = [len(r.created) for r in catch_up(session, settings, meter=meter, issue_documents=False)]
        assert sum(created) == 3
        assert sum(len(r.created) for r in catch_up(session, settings, meter=meter)) == 0
    invs = session.exec(select(Invoice).order_by(Invoice.id)).all()
    assert [(i.period, i.number, i.issue_date) for i in invs] == [
        (date(2026, m, 1), f"2026-00000{m}", date(2026, 3, 9)) for m in (1, 2, 3)
    ]


def test_dunning_dated_in_the_future_is_refused_and_nothing_changes(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter)
    with at(2026, 1, 12), pytest.raises(BusinessDateError, match="cannot be dated in the future: 12.02.2026"):
        dunning.run_dunning(session, date(2026, 2, 12), settings)
    session.rollback()
    assert count(session, Reminder) == 0 and count(session, OutboxMail) == 1  # the invoice's mail only


def test_a_back_dated_dunning_needs_a_reason_and_is_audited(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False)
    with at(2026, 1, 25):
        with pytest.raises(BusinessDateError, match="back-dated .* give the reason"):
            dunning.run_dunning(session, date(2026, 1, 21), settings)
        r = dunning.run_dunning(session, date(2026, 1, 21), settings, reason="server down on the 21st")
    assert len(r.reminders) == 1
    event = session.exec(select(AuditEntry).where(AuditEntry.action == "backdated")).one()
    assert event.detail["reason"] == "server down on the 21st" and event.detail["date"] == "2026-01-21"


def test_partial_credit_note_is_numbered_and_a_negative_one_is_refused(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False).created
    inv = session.get(Invoice, inv_id)
    with pytest.raises(InvoiceStateError, match="must be more than CHF 0.00"):
        credit_amount(
            session, inv, -2000, issue_date=date(2026, 1, 5), iban=settings.billing_iban, reason="x"
        )
    assert count(session, Invoice, Invoice.kind == "credit_note") == 0
    note = credit_amount(
        session,
        inv,
        parse_chf("1'00.00"),
        issue_date=date(2026, 1, 5),
        iban=settings.billing_iban,
        reason="goodwill",
    )
    issuing.issue(session, note, settings)
    session.commit()
    assert note.number == "NC-2026-000001" and abs(note.total + 10000) <= 2
    assert inv.status == InvoiceStatus.OPEN and inv.balance == inv.total + note.total
    assert session.exec(select(OutboxMail).where(OutboxMail.category == "credit_note")).one()


def test_camt_file_with_an_unknown_currency_is_refused_whole(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False).created
    inv = session.get(Invoice, inv_id)
    xml = camt054(
        "CCY1",
        [
            {"ref": "A", "amount": inv.total, "reference": inv.reference, "day": date(2026, 1, 4)},
            {"ref": "B", "amount": 100, "reference": None, "day": date(2026, 1, 4), "ccy": "XBT"},
        ],
    )
    with pytest.raises(CamtError, match="currency 'XBT' is not an ISO 4217 currency; nothing was imported"):
        payments.import_camt054(session, xml)
    session.rollback()
    assert count(session, Payment) == 0 and session.get(Invoice, inv_id).status == InvoiceStatus.OPEN


def test_unmatched_credit_gets_suggestions_from_number_amount_and_debtor(session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    books.customer("Beta SA", start=date(2026, 1, 1), kiosks=1)
    session.commit()
    a, b = issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False).created
    inv_a, inv_b = session.get(Invoice, a), session.get(Invoice, b)
    xml = camt054(
        "SUG",
        [
            {
                "ref": "S1",
                "amount": inv_b.total,
                "reference": None,
                "day": date(2026, 1, 6),
                "debtor": "BETA SA, Lausanne",
                "text": f"Facture {inv_b.number} merci",
            }
        ],
    )
    assert payments.import_camt054(session, xml).unmatched == 1
    (payment,) = payments.unmatched(session)
    best, *rest = payments.suggestions(session, payment.id)
    assert best.invoice.id == inv_b.id and best.score == 120
    assert best.reasons == ["invoice number in the remittance text", "amount = balance", "debtor name"]
    assert all(s.invoice.id == inv_a.id and s.score < best.score for s in rest)


def test_contract_end_flags_only_that_contracts_kiosks(session, books, meter, settings):
    customer, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=2)
    second = books.second_contract(customer, start=date(2026, 1, 1))
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False)
    end_contract(
        session, session.get(Contract, second.id), date(2026, 1, 31), "notice", date(2026, 1, 20), settings
    )
    session.commit()
    status = {k.id: k.status for k in kiosks_at_customer(session, customer.id)}
    assert status == {
        f"C{customer.id}K1": "deployed",
        f"C{customer.id}K2": "deployed",
        f"C{customer.id}K9": "retrieval_eligible",
    }
    assert session.exec(
        select(ContractKiosk.detached_on).where(ContractKiosk.contract_id == second.id)
    ).one() == date(2026, 1, 31)


@pytest.mark.parametrize(
    "typed,centimes",
    [
        ("120.00", 12000),
        ("4.50", 450),
        ("1'234.50", 123450),
        ("1234,50", 123450),
        ("CHF 12.-", 1200),
        ("7", 700),
    ],
)
def test_amounts_are_taken_as_people_type_them(typed, centimes):
    assert parse_chf(typed) == centimes


@pytest.mark.parametrize("typed", ["12.345", "abc", "1.2.3"])
def test_amounts_with_fractions_of_centimes_or_letters_are_refused(typed):
    with pytest.raises(ValueError):
        parse_chf(typed)


def test_production_refuses_placeholder_creditor_data_naming_each_setting():
    shipped = billing_settings(
        billing_creditor_name="NOXUS Informatique SàRL",
        billing_creditor_street="Rue de la Gare",
        billing_creditor_postcode="1003",
        billing_creditor_town="Lausanne",
        billing_vat_number="CHE-123.456.789 TVA",
        billing_iban="",
        billing_demo=False,
    )
    found = config.problems(shipped)
    assert [p.split(" ")[0] for p in found] == [
        "NOXUS_BILLING_CREDITOR_NAME",
        "NOXUS_BILLING_CREDITOR_STREET",
        "NOXUS_BILLING_CREDITOR_POSTCODE",
        "NOXUS_BILLING_CREDITOR_TOWN",
        "NOXUS_BILLING_VAT_NUMBER",
        "NOXUS_BILLING_IBAN",
    ]
    assert "empty" in found[-1] and "placeholder" in found[0]
    with pytest.raises(SystemExit, match="refuses to start"):
        config.check(shipped)
    assert config.problems(shipped.model_copy(update={"billing_demo": True})) == []
    assert config.problems(billing_settings()) == []  # the tests' own obviously fake values


def test_future_dunning_through_the_page_and_the_api_is_refused(noxus_app, session, books, meter):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    override_principal(noxus_app, Role.BILLING)
    client = TestClient(noxus_app)
    with at(2026, 1, 12):
        r = client.post("/api/v1/billing/dunning/run", json={"day": "2026-02-12"})
        assert r.status_code == 422 and "cannot be dated in the future" in r.text
        page = client.post("/billing/dunning", data={"day": "2026-02-12"}, follow_redirects=True)
        assert "cannot be dated in the future" in page.text or "ne peut pas être daté" in page.text
    assert count(session, Reminder) == 0


def test_actions_that_send_mail_ask_for_confirmation_first(noxus_app, session, books, meter, settings):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 2):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
        override_principal(noxus_app, Role.BILLING)
        client = TestClient(noxus_app)
        first = client.post(
            "/billing/drafts/issue", data={"invoice_id": str(draft_id)}, headers={"accept-language": "en"}
        )
        assert (
            first.status_code == 200 and "Please confirm" in first.text and 'name="confirmed"' in first.text
        )
        session.expire_all()
        assert (
            session.get(Invoice, draft_id).status == InvoiceStatus.DRAFT and count(session, OutboxMail) == 0
        )
        done = client.post("/billing/drafts/issue", data={"invoice_id": str(draft_id), "confirmed": "1"})
        assert done.status_code == 200  # followed to the invoice list
    session.expire_all()
    assert session.get(Invoice, draft_id).number == "2026-000001" and count(session, OutboxMail) == 1


def test_the_draft_form_keeps_what_was_typed_with_a_message_per_field(
    noxus_app, session, books, meter, settings
):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 2):
        (draft_id,) = run_month(session, date(2026, 1, 1), settings, meter=meter).created
    override_principal(noxus_app, Role.BILLING)
    r = TestClient(noxus_app).post(
        f"/billing/invoices/{draft_id}/lines",
        data={"description": "Formation", "quantity": "2", "unit_price": "4.5.0"},
        headers={"accept-language": "en"},
    )
    assert r.status_code == 422 and 'value="4.5.0"' in r.text and 'value="Formation"' in r.text
    assert "Enter an amount in CHF" in r.text


def test_a_german_speaking_customers_invoice_reminder_and_notice_are_german(session, books, meter, settings):
    import pypdfium2
    from noxus.billing.models import Document

    books.customer("Bäckerei Bern AG", start=date(2026, 1, 1), kiosks=1, language="de")
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter).created
    assert [ln.description for ln in lines_of(session, inv_id)][:3] == [
        "Einrichtungsgebühr",
        "NoxusTime-Abonnement, Januar 2026",
        "NoxusTime-Terminals (1), Januar 2026",
    ]
    for day in (date(2026, 1, 21), date(2026, 3, 12)):
        with at(day.year, day.month, day.day):
            dunning.run_dunning(session, None, settings)
    subjects = [m.subject for m in session.exec(select(OutboxMail).order_by(OutboxMail.id))]
    assert subjects[0].startswith("Rechnung 2026-000001") and "Mahnung" in subjects[1]
    assert subjects[-1] == "Mitteilung über die Rücknahme der NoxusTime-Geräte (AGB §7.6)"
    notice = session.exec(select(Document).where(Document.kind == "notice")).one()
    text = "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(notice.pdf))
    assert "Sehr geehrte(r) Contact Bäckerei Bern AG" in text and "Seriennummer" in text
    reminder = session.exec(select(Document).where(Document.kind == "reminder")).first()
    assert "Mahnung" in "".join(
        p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(reminder.pdf)
    )


def test_the_issued_invoice_page_shows_its_reference_and_opens_its_pdf_for_billing_staff_only(
    noxus_app, session, books, meter, settings
):
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    with at(2026, 1, 2):
        inv = session.get(Invoice, issued_run(session, date(2026, 1, 1), settings, meter=meter).created[0])
    override_principal(noxus_app, Role.BILLING)
    client = TestClient(noxus_app)
    page = client.get(f"/billing/invoices/{inv.id}").text
    assert f'id="invoice-reference">{inv.reference}<' in page
    (link,) = re.findall(r'href="(/billing/documents/\d+)" data-kind="invoice"', page)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "inline" in pdf.headers["content-disposition"]
    assert client.get("/billing/documents/999999").status_code == 404
    override_principal(noxus_app, Role.HR_ADMIN, customer_id=inv.customer_id)
    assert client.get(link, headers={"accept": "text/html"}).status_code == 403
