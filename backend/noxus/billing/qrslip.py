"""The Swiss QR-bill payment part drawn natively with ReportLab.

The data, validation, labels and the QR payload come from the `qrbill` package (QRBill object);
only the drawing is done here, following the layout qrbill itself uses for its SVG (SIX
Implementation Guidelines QR-bill 2.x: receipt 62 mm, payment part 148 mm, 105 mm high, QR code
46 x 46 mm with the 7 mm Swiss cross, error correction M). Converting qrbill's SVG with svglib
took ~1 s per page; drawing the modules directly takes a few milliseconds, which matters when
the monthly run renders thousands of invoices.
"""

import qrcode
from qrbill import QRBill
from qrbill.bill import format_amount, format_ref_number
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from stdnum import iban

HEIGHT = 105  # mm, the payment slip at the bottom of an A4 page
RECEIPT_W = 62
PAYMENT_X = 67
DETAIL_X = 118
QR_TOP, QR_SIZE, CROSS = 17, 46, 7
LINE = 3.5


def _y(t: float) -> float:
    """mm below the perforation -> PDF points from the page bottom."""
    return (HEIGHT - t) * mm


def _qr_matrix(payload: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, box_size=1)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr.get_matrix()


def _draw_qr(c: Canvas, payload: str) -> None:
    matrix = _qr_matrix(payload)
    n = len(matrix)
    cell = QR_SIZE * mm / n
    left, top = PAYMENT_X * mm, _y(QR_TOP)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for row, cells in enumerate(matrix):
        col = 0
        while col < n:  # one rectangle per horizontal run of dark modules
            if cells[col]:
                start = col
                while col < n and cells[col]:
                    col += 1
                path.rect(left + start * cell, top - (row + 1) * cell, (col - start) * cell, cell)
            else:
                col += 1
    c.drawPath(path, stroke=0, fill=1)
    # Swiss cross: white 7 mm square, black square inset, white cross (proportions of the SIX artwork)
    cx, cy = left + QR_SIZE * mm / 2, top - QR_SIZE * mm / 2
    unit = CROSS * mm / 20
    c.setFillColorRGB(1, 1, 1)
    c.rect(cx - 10 * unit, cy - 10 * unit, 20 * unit, 20 * unit, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.rect(cx - 9.2 * unit, cy - 9.2 * unit, 18.4 * unit, 18.4 * unit, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.rect(cx - 1.65 * unit, cy - 5.5 * unit, 3.3 * unit, 11 * unit, stroke=0, fill=1)
    c.rect(cx - 5.5 * unit, cy - 1.65 * unit, 11 * unit, 3.3 * unit, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)


def draw_payment_slip(c: Canvas, bill: QRBill) -> None:
    c.saveState()
    c.setLineWidth(0.5)
    c.setDash(2, 2)
    c.line(0, _y(0), 210 * mm, _y(0))
    c.line(RECEIPT_W * mm, _y(0), RECEIPT_W * mm, 0)
    c.setDash()

    def text(x: float, t: float, s: str, size: float, bold: bool = False, right: bool = False) -> None:
        c.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        (c.drawRightString if right else c.drawString)(x * mm, _y(t), s)

    account = iban.format(bill.account)
    creditor = list(bill.creditor.as_paragraph())
    debtor = list(bill.debtor.as_paragraph()) if bill.debtor else []
    ref = format_ref_number(bill)
    amount = format_amount(bill.amount) if bill.amount else ""

    # receipt
    text(5, 10, bill.label("Receipt"), 11, bold=True)
    t: float = 15  # millimetres from the top; lines are fractional
    text(5, t, bill.label("Account / Payable to"), 6, bold=True)
    for line in [account, *creditor]:
        t += LINE
        text(5, t, line, 8)
    if ref:
        t += LINE + 1
        text(5, t, bill.label("Reference"), 6, bold=True)
        t += LINE
        text(5, t, ref, 8)
    t += LINE + 1
    text(5, t, bill.label("Payable by"), 6, bold=True)
    for line in debtor:
        t += LINE
        text(5, t, line, 8)
    text(5, 72, bill.label("Currency"), 6, bold=True)
    text(17, 72, bill.label("Amount"), 6, bold=True)
    text(5, 77, bill.currency, 8)
    text(17, 77, amount, 8)
    text(57, 86, bill.label("Acceptance point"), 6, bold=True, right=True)

    # payment part
    text(PAYMENT_X, 10, bill.label("Payment part"), 11, bold=True)
    _draw_qr(c, bill.qr_data())
    text(PAYMENT_X, 72, bill.label("Currency"), 8, bold=True)
    text(PAYMENT_X + 14, 72, bill.label("Amount"), 8, bold=True)
    text(PAYMENT_X, 77, bill.currency, 10)
    text(PAYMENT_X + 14, 77, amount, 10)
    t = 10

    def section(label: str, lines: list[str]) -> None:
        nonlocal t
        if t > 10:
            t += 3
        text(DETAIL_X, t, label, 8, bold=True)
        for line in lines:
            t += LINE + 0.5
            text(DETAIL_X, t, line, 10)
        t += LINE

    section(bill.label("Account / Payable to"), [account, *creditor])
    if ref:
        section(bill.label("Reference"), [ref])
    if bill.additional_information:
        section(
            bill.label("Additional information"),
            [bill.additional_information[i : i + 45] for i in range(0, len(bill.additional_information), 45)],
        )
    if debtor:
        section(bill.label("Payable by"), debtor)
    c.restoreState()
