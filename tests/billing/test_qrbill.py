"""The QR code printed on the invoice PDF, decoded back (zxing-cpp) and checked field by field."""

from datetime import date

import pypdfium2
import pytest
import zxingcpp
from noxus.billing.issuing import render_invoice
from noxus.billing.models import Document, Invoice
from noxus.billing.references import normalize
from noxus.core.outbox import OutboxMail
from sqlmodel import select

from .conftest import billing_settings, issued_run


def decode_qr(pdf: bytes) -> list[str]:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=300 / 72).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize(
    "iban,ref_type", [("CH4431999123000889012", "QRR"), ("CH9300762011623852957", "SCOR")]
)
def test_qr_code_on_the_invoice_pdf_decodes_to_the_invoice(session, books, meter, iban, ref_type):
    settings = billing_settings(billing_iban=iban)
    c, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    inv = session.get(Invoice, issued_run(session, date(2026, 1, 1), settings, meter=meter).created[0])
    doc = session.exec(select(Document).where(Document.invoice_id == inv.id)).one()
    assert doc.pdf == render_invoice(session, inv, settings)  # deterministic: re-rendered identically
    (payload,) = decode_qr(doc.pdf)
    f = payload.split("\r\n") if "\r\n" in payload else payload.split("\n")
    assert f[0:3] == ["SPC", "0200", "1"]
    assert f[3] == iban
    assert f[4:11] == ["S", "Test Creditor (fake) SàRL", "Teststrasse", "1", "9999", "Testdorf", "CH"]
    assert f[18] == f"{inv.total // 100}.{inv.total % 100:02d}" == "323.20"
    assert f[19] == "CHF"
    assert f[20:27] == ["S", "Alpha SA", "Avenue de la Gare", "10", "1003", "Lausanne", "CH"]
    assert f[27] == ref_type
    assert f[28] == inv.reference and normalize(f[28]) == inv.reference
    assert f[29] == f"Facture {inv.number}"
    assert f[30] == "EPD"
    mail = session.exec(select(OutboxMail).where(OutboxMail.attachment == f"billing_document:{doc.id}")).one()
    assert mail.to_addr == f"compta@c{c.id}.example" and inv.number in mail.subject
