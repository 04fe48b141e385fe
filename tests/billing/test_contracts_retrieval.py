"""Contract end (restitution, pro-rata credit), retrieval to completion, index revision,
support hours, outbox delivery through a real local SMTP server."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from noxus.billing import retrieval
from noxus.billing.contracts import end_contract
from noxus.billing.models import Invoice, InvoiceKind, InvoiceStatus, PriceIndex, RetrievalStatus
from noxus.billing.pricing import PricingError, prices_on, revise_prices
from noxus.billing.support_hours import check_visit, is_working_day
from noxus.core import outbox
from noxus.core.outbox import OutboxMail
from noxus.fleet.models import Kiosk
from noxus.fleet.retrieval import kiosks_at_customer
from sqlmodel import select

from .conftest import billing_settings, issued_run

ZH = ZoneInfo("Europe/Zurich")


def test_contract_end_credits_unused_prepaid_days_and_opens_restitution(session, books, meter, settings):
    c, contract = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=2)
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter, issue_documents=False)
    (note,) = end_contract(
        session,
        contract,
        date(2026, 1, 20),
        "termination for cause",
        date(2026, 1, 20),
        settings,
        actor="staff",
    )
    session.commit()
    # 11 of 31 days unused: subscription 49.00 -> 17.39, kiosks 2 x 15.00 -> 10.65
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.number == "NC-2026-000001"
    assert note.subtotal == -(1739 + 1065)
    original = session.get(Invoice, note.credited_invoice_id)
    assert original.status == InvoiceStatus.OPEN and original.amount_credited == -note.total
    assert {k.status for k in kiosks_at_customer(session, c.id)} == {"retrieval_eligible"}
    case = retrieval.open_case(session, c.id, "contract_end")
    assert case.reason == "contract_end" and case.contract_id == contract.id
    # no notice is needed at contract end: the visit can be booked at once
    retrieval.schedule_visit(
        session,
        case.id,
        datetime(2026, 1, 26, 14, tzinfo=ZH),
        datetime(2026, 1, 26, 15, tzinfo=ZH),
        actor="staff",
    )
    for k in ("C1K1", "C1K2"):
        retrieval.mark_retrieved(session, case.id, k.replace("C1", f"C{c.id}"), actor="tech:luc")
    session.commit()
    assert session.get(type(case), case.id).status == RetrievalStatus.COMPLETED
    assert {session.get(Kiosk, f"C{c.id}K{n}").status for n in (1, 2)} == {"retrieved"}
    # the next run bills the 20 days' users but no more subscription
    meter.set(c.id, 2026, 1, 14)
    inv = session.get(
        Invoice,
        issued_run(session, date(2026, 2, 1), settings, meter=meter, issue_documents=False).created[0],
    )
    assert inv.subtotal == 4 * 350


def test_unpaid_retrieval_cannot_be_scheduled_before_the_notice_is_recorded(session, books, settings):
    c, _ = books.customer("Beta SA", start=date(2026, 1, 1), kiosks=1)
    session.commit()
    case = retrieval.flag_unpaid(session, c.id, date(2026, 3, 11), [], settings)
    with pytest.raises(retrieval.RetrievalError, match="written notice"):
        retrieval.schedule_visit(
            session,
            case.id,
            datetime(2026, 3, 16, 9, tzinfo=ZH),
            datetime(2026, 3, 16, 10, tzinfo=ZH),
            actor="staff",
        )


def test_index_revision_is_capped_and_needs_notice(session, books, settings):
    _, contract = books.customer("Gamma SA", start=date(2025, 1, 1), kiosks=0, index_revision=True)
    session.add_all([PriceIndex(year=2025, value="100.0"), PriceIndex(year=2026, value="107.5")])
    session.commit()
    with pytest.raises(PricingError, match="30 days ahead"):
        revise_prices(session, contract, 2026, date(2026, 1, 15), date(2026, 2, 1))
    rev = revise_prices(session, contract, 2026, date(2026, 1, 1), date(2026, 2, 1))
    assert rev.factor == "1.050000" and rev.monthly_fee == 5145  # +7.5 % capped at +5 %
    assert prices_on(session, contract, date(2026, 1, 31)).monthly_fee == 4900
    assert prices_on(session, contract, date(2026, 2, 1)).monthly_fee == 5145


def test_support_hours_follow_vaud_working_days():
    assert not is_working_day(date(2026, 9, 21))  # Lundi du Jeûne fédéral
    assert not is_working_day(date(2026, 4, 3)) and not is_working_day(date(2026, 1, 2))
    check_visit(datetime(2026, 9, 22, 13, 30, tzinfo=ZH), datetime(2026, 9, 22, 18, 0, tzinfo=ZH))
    with pytest.raises(ValueError, match="not a Vaud working day"):
        check_visit(datetime(2026, 9, 21, 9, tzinfo=ZH), datetime(2026, 9, 21, 10, tzinfo=ZH))
    with pytest.raises(ValueError, match="outside support hours"):
        check_visit(datetime(2026, 9, 22, 7, 30, tzinfo=ZH), datetime(2026, 9, 22, 9, tzinfo=ZH))


class Recorder:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_outbox_retries_until_the_smtp_server_answers_then_sends_once(session, books, meter):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = billing_settings(smtp_port=port)
    books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    issued_run(session, date(2026, 1, 1), settings, meter=meter)
    t0 = datetime.now(ZH)
    assert outbox.deliver(session, settings, now=t0) == 0  # nobody listening
    mail = session.exec(select(OutboxMail)).one()
    assert (mail.status, mail.attempts) == ("queued", 1) and "ConnectionRefused" in mail.last_error
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert outbox.deliver(session, settings, now=t0) == 0  # backoff: not yet due
        assert outbox.deliver(session, settings, now=t0 + timedelta(minutes=2)) == 1
        assert outbox.deliver(session, settings, now=t0 + timedelta(hours=1)) == 0
    finally:
        controller.stop()
    (env,) = handler.messages
    assert env.rcpt_tos == ["compta@c1.example"] or env.rcpt_tos[0].startswith("compta@")
    assert b"application/pdf" in env.content and b"Facture" in env.content
