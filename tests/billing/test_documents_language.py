"""Invoices, credit notes, reminders and their e-mails speak the customer's language, with the
words of the same gettext catalogs as the pages, and the QR-bill still decodes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import time_machine
from noxus.billing import dunning, issuing
from noxus.billing.invoices import credit_amount
from noxus.billing.models import Document, Invoice
from noxus.core.outbox import OutboxMail
from sqlmodel import select

from .conftest import issued_run
from .test_qrbill import decode_qr


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(pdf))
    return text.replace("\u00a0", " ").replace("\r\n", "\n")


def _issued_invoice(session, books, meter, settings, language: str) -> Invoice:
    books.customer("Kunde AG", start=date(2026, 1, 1), kiosks=1, language=language)
    session.commit()
    (inv_id,) = issued_run(session, date(2026, 1, 1), settings, meter=meter).created
    return session.get(Invoice, inv_id)


def _document(session, invoice_id: int, kind: str) -> Document:
    return session.exec(
        select(Document).where(Document.invoice_id == invoice_id, Document.kind == kind)
    ).one()


LABELS = {
    "de": [
        "Rechnung Nr. 2026-000001",
        "Datum: 01.01.2026",
        "Fällig: 11.01.2026",
        "Bezeichnung",
        "Einzelpreis",
        "MWST",
        "Betrag CHF",
        "Zwischensumme exkl. MWST",
        "MWST 8.1 % auf CHF",
        "Total CHF",
        "Zahlbar netto innert 10 Tagen",
        "Referenz:",
        "Einrichtungsgebühr",
        "Zahlteil",  # the QR-bill's own German wording (qrbill)
    ],
    "fr": [
        "Facture n° 2026-000001",
        "Date : 01.01.2026",
        "Échéance : 11.01.2026",
        "Désignation",
        "Prix unitaire",
        "Montant CHF",
        "Sous-total hors TVA",
        "TVA 8,1 % sur CHF",
        "Payable net à 10 jours",
        "Référence :",
        "Section paiement",
    ],
}


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_invoice_pdf_and_its_mail_speak_the_customers_language(session, books, meter, settings, language):
    inv = _issued_invoice(session, books, meter, settings, language)
    doc = _document(session, inv.id, "invoice")
    text = pdf_text(doc.pdf)
    missing = [label for label in LABELS[language] if label not in text]
    assert not missing, f"{missing} not on the {language} invoice:\n{text}"
    # money is CHF 1'234.50 in every language; the rate is written as the language writes it
    rate = "8.1 % auf" if language == "de" else "8,1 % sur"
    assert "Total CHF 339.45" in text and f"{rate} CHF 314.00 25.43" in text
    (payload,) = decode_qr(doc.pdf)  # the payment part still decodes, message in the language
    message = payload.splitlines()[29]
    assert message == f"{'Rechnung' if language == 'de' else 'Facture'} {inv.number}"
    assert doc.filename == f"{'Rechnung' if language == 'de' else 'facture'}-{inv.number}.pdf"
    mail = session.exec(select(OutboxMail).where(OutboxMail.attachment == f"billing_document:{doc.id}")).one()
    if language == "de":
        assert mail.subject == f"Rechnung {inv.number} — NoxusTime"
        assert mail.body.startswith("Sehr geehrte Damen und Herren\n\nIm Anhang finden Sie die Rechnung")
        assert "vom 01.01.2026" in mail.body and "zahlbar bis 11.01.2026" in mail.body
        assert "Freundliche Grüsse" in mail.body
    else:
        assert mail.subject == f"Facture {inv.number} — NoxusTime"
        assert "Veuillez trouver ci-joint la facture" in mail.body and "jusqu'au 11.01.2026" in mail.body


def test_a_german_credit_note_and_reminder_use_the_catalogs(session, books, meter, settings):
    inv = _issued_invoice(session, books, meter, settings, "de")
    with time_machine.travel(datetime(2026, 1, 21, 8, tzinfo=ZoneInfo("Europe/Zurich")), tick=False):
        dunning.run_dunning(session, None, settings)
    reminder = session.exec(select(Document).where(Document.kind == "reminder")).one()
    text = pdf_text(reminder.pdf)
    for label in (
        "1. Mahnung — Rechnung 2026-000001",
        "Datum: 21.01.2026",
        "Gemäss unserer Buchhaltung ist die folgende Rechnung noch offen.",
        "Rechnung 2026-000001 vom 01.01.2026, fällig am 11.01.2026",
        "Mahngebühr (1)",
        "Offener Betrag CHF",
        "Bitte begleichen Sie den Betrag bis am 31.01.2026.",
    ):
        assert label in text, f"{label!r} not on the reminder:\n{text}"
    assert reminder.filename == "Mahnung-1-2026-000001.pdf"
    (payload,) = decode_qr(reminder.pdf)
    assert payload.splitlines()[29] == "1. Mahnung — Rechnung 2026-000001"
    mail = session.exec(
        select(OutboxMail).where(OutboxMail.attachment == f"billing_document:{reminder.id}")
    ).one()
    assert mail.subject == "1. Mahnung — Rechnung 2026-000001"
    assert "Offener Betrag: CHF" in mail.body and "bis am 31.01.2026" in mail.body

    session.refresh(inv)
    note = credit_amount(
        session, inv, 1000, issue_date=date(2026, 1, 22), iban=settings.billing_iban, reason="Kulanz"
    )
    issuing.issue(session, note, settings)
    session.commit()
    credit = _document(session, note.id, "credit_note")
    assert credit.filename == f"Gutschrift-{note.number}.pdf"
    text = pdf_text(credit.pdf)
    assert "Gutschrift Nr." in text and "Gutschrift zu Rechnung 2026-000001" in text
    assert "Zahlteil" not in text  # a credit note has nothing to pay
