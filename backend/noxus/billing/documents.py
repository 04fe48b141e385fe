"""PDF documents: invoice and credit note with the Swiss QR-bill (payment part and receipt,
drawn by the `qrbill` package, embedded as vector graphics), reminders, and the §7.6 written
notice to the contact person. French by default; German and English labels exist.

Rendering is deterministic for a given invoice, so a stored PDF can be re-rendered identically.
"""

import io
from dataclasses import dataclass
from datetime import date

from qrbill import QRBill
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from noxus.billing.models import BillingProfile, Invoice, InvoiceKind, InvoiceLine, LineKind
from noxus.billing.money import chf, qr_amount
from noxus.billing.qrslip import draw_payment_slip
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings

LABELS = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Note de crédit",
        "reminder": "Rappel",
        "number": "N°",
        "date": "Date",
        "due": "Échéance",
        "period": "Période",
        "description": "Désignation",
        "qty": "Qté",
        "unit": "Prix unitaire",
        "amount": "Montant CHF",
        "vat": "TVA",
        "subtotal": "Sous-total hors TVA",
        "rounding": "Arrondi",
        "total": "Total CHF",
        "vat_on": "TVA {rate} % sur CHF {base}",
        "payable": "Payable net à {days} jours (CG §7.1).",
        "reference": "Référence",
        "customer": "Client",
        "credits": "Crédite la facture",
        "reminder_intro": "Sauf erreur de notre part, la facture ci-dessous reste impayée à ce jour.",
        "reminder_fee": "Frais de rappel",
        "interest": "Intérêts moratoires",
        "open": "Solde dû",
        "pay_by": "Merci de régler le montant dû d'ici le {date}.",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "reminder": "Mahnung",
        "number": "Nr.",
        "date": "Datum",
        "due": "Fällig",
        "period": "Periode",
        "description": "Bezeichnung",
        "qty": "Menge",
        "unit": "Einzelpreis",
        "amount": "Betrag CHF",
        "vat": "MWST",
        "subtotal": "Zwischensumme exkl. MWST",
        "rounding": "Rundung",
        "total": "Total CHF",
        "vat_on": "MWST {rate} % auf CHF {base}",
        "payable": "Zahlbar netto innert {days} Tagen.",
        "reference": "Referenz",
        "customer": "Kunde",
        "credits": "Gutschrift zu Rechnung",
        "reminder_intro": "Die folgende Rechnung ist gemäss unserer Buchhaltung noch offen.",
        "reminder_fee": "Mahngebühr",
        "interest": "Verzugszins",
        "open": "Offener Betrag",
        "pay_by": "Bitte begleichen Sie den Betrag bis am {date}.",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "reminder": "Reminder",
        "number": "No.",
        "date": "Date",
        "due": "Due",
        "period": "Period",
        "description": "Description",
        "qty": "Qty",
        "unit": "Unit price",
        "amount": "Amount CHF",
        "vat": "VAT",
        "subtotal": "Subtotal excl. VAT",
        "rounding": "Rounding",
        "total": "Total CHF",
        "vat_on": "VAT {rate} % on CHF {base}",
        "payable": "Payable net within {days} days.",
        "reference": "Reference",
        "customer": "Customer",
        "credits": "Credits invoice",
        "reminder_intro": "According to our records the invoice below is still unpaid.",
        "reminder_fee": "Reminder fee",
        "interest": "Late interest",
        "open": "Amount due",
        "pay_by": "Please pay the amount due by {date}.",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["fr"])


def fmt_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def rate_text(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Party:
    name: str
    street: str
    house_num: str
    postcode: str
    town: str
    country: str

    def qr(self) -> dict:
        return {
            "name": self.name,
            "street": self.street,
            "house_num": self.house_num,
            "pcode": self.postcode,
            "city": self.town,
            "country": self.country,
        }

    def lines(self) -> list[str]:
        return [
            self.name,
            f"{self.street} {self.house_num}".strip(),
            f"{self.postcode} {self.town}",
            *([] if self.country == "CH" else [self.country]),
        ]


def creditor(settings: Settings) -> Party:
    return Party(
        settings.billing_creditor_name,
        settings.billing_creditor_street,
        settings.billing_creditor_house_num,
        settings.billing_creditor_postcode,
        settings.billing_creditor_town,
        settings.billing_creditor_country,
    )


def debtor(profile: BillingProfile) -> Party:
    return Party(
        profile.legal_name, profile.street, profile.house_num, profile.postcode, profile.town, profile.country
    )


def contact(profile: BillingProfile) -> Party:
    return Party(
        profile.contact_name,
        profile.contact_street,
        profile.contact_house_num,
        profile.contact_postcode,
        profile.contact_town,
        profile.contact_country,
    )


def qr_bill(
    invoice: Invoice, profile: BillingProfile, settings: Settings, amount: int, message: str
) -> QRBill:
    return QRBill(
        account=settings.billing_iban,
        creditor=creditor(settings).qr(),
        debtor=debtor(profile).qr(),
        amount=qr_amount(amount),
        currency="CHF",
        reference_number=invoice.reference,
        additional_information=message[:140],
        language=invoice.language if invoice.language in ("fr", "de", "en", "it") else "fr",
    )


def qr_bill_svg(invoice: Invoice, profile: BillingProfile, settings: Settings) -> str:
    out = io.StringIO()
    qr_bill(invoice, profile, settings, invoice.total, _message(invoice)).as_svg(out, full_page=False)
    return out.getvalue()


def _message(invoice: Invoice) -> str:
    return f"{labels(invoice.language)['invoice']} {invoice.number}"


class _Page:
    """A4 page with NOXUS letterhead and a cursor moving down."""

    def __init__(self, canvas: Canvas, settings: Settings):
        self.c = canvas
        self.y = A4[1] - 20 * mm
        c = canvas
        c.setFont("Helvetica-Bold", 12)
        c.drawString(20 * mm, self.y, settings.billing_creditor_name)
        c.setFont("Helvetica", 8)
        for i, line in enumerate(
            creditor(settings).lines()[1:] + [settings.billing_vat_number, settings.billing_creditor_email]
        ):
            c.drawString(20 * mm, self.y - (4 + 3.5 * i) * mm, line)
        self.y -= 30 * mm

    def address(self, party: Party) -> None:
        self.c.setFont("Helvetica", 10)
        for i, line in enumerate(party.lines()):
            self.c.drawString(120 * mm, self.y - i * 5 * mm, line)
        self.y -= 30 * mm

    def title(self, text: str) -> None:
        self.c.setFont("Helvetica-Bold", 14)
        self.c.drawString(20 * mm, self.y, text)
        self.y -= 8 * mm

    def text(self, text: str, size: int = 9, bold: bool = False) -> None:
        self.c.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.c.drawString(20 * mm, self.y, text)
        self.y -= 5 * mm

    def row(self, cells: list[tuple[float, str, str]], bold: bool = False) -> None:
        """cells: (x in mm, text, align 'l'|'r')"""
        self.c.setFont("Helvetica-Bold" if bold else "Helvetica", 9)
        for x, text, align in cells:
            (self.c.drawRightString if align == "r" else self.c.drawString)(x * mm, self.y, text)
        self.y -= 5 * mm


def _draw_qr(canvas: Canvas, bill: QRBill) -> None:
    draw_payment_slip(canvas, bill)  # the payment part sits at the bottom of the A4 page


def invoice_pdf(
    invoice: Invoice,
    lines: list[InvoiceLine],
    profile: BillingProfile,
    settings: Settings,
    credited_number: str | None = None,
) -> bytes:
    lb = labels(invoice.language)
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, invariant=1)
    title = lb["credit_note"] if invoice.kind == InvoiceKind.CREDIT_NOTE else lb["invoice"]
    canvas.setTitle(f"{title} {invoice.number}")
    page = _Page(canvas, settings)
    page.address(debtor(profile))
    page.title(f"{title} {lb['number']} {invoice.number}")
    page.text(
        f"{lb['date']}: {fmt_date(invoice.issue_date)}    {lb['due']}: {fmt_date(invoice.due_date)}"
        f"    {lb['customer']}: {invoice.customer_id}"
    )
    if credited_number:
        page.text(f"{lb['credits']} {credited_number}")
    page.y -= 3 * mm
    page.row(
        [
            (20, lb["description"], "l"),
            (130, lb["qty"], "r"),
            (155, lb["unit"], "r"),
            (170, lb["vat"], "r"),
            (190, lb["amount"], "r"),
        ],
        bold=True,
    )
    for ln in lines:
        if ln.kind == LineKind.ROUNDING:
            continue
        page.row(
            [
                (20, ln.description[:70], "l"),
                (130, ln.quantity, "r"),
                (155, chf(ln.unit_price), "r"),
                (170, f"{rate_text(ln.vat_rate_bp)} %" if ln.vat_rate_bp is not None else "", "r"),
                (190, chf(ln.amount), "r"),
            ]
        )
        if page.y < 120 * mm:  # keep the payment part free: continue on a new page
            canvas.showPage()
            page = _Page(canvas, settings)
    page.y -= 2 * mm
    page.row([(20, lb["subtotal"], "l"), (190, chf(invoice.subtotal), "r")])
    for rate, base, vat in invoice.vat_breakdown or []:
        page.row([(20, lb["vat_on"].format(rate=rate_text(rate), base=chf(base)), "l"), (190, chf(vat), "r")])
    if invoice.rounding:
        page.row([(20, lb["rounding"], "l"), (190, chf(invoice.rounding), "r")])
    page.row([(20, lb["total"], "l"), (190, chf(invoice.total), "r")], bold=True)
    if invoice.kind == InvoiceKind.INVOICE:
        page.y -= 3 * mm
        page.text(lb["payable"].format(days=(invoice.due_date - invoice.issue_date).days))
        page.text(f"{lb['reference']}: {invoice.reference}")
        _draw_qr(canvas, qr_bill(invoice, profile, settings, invoice.total, _message(invoice)))
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def reminder_pdf(
    invoice: Invoice,
    profile: BillingProfile,
    settings: Settings,
    *,
    level: int,
    issued_on: date,
    fees: list[tuple[str, int]],
    amount_due: int,
    pay_by: date,
) -> bytes:
    """A reminder: the unpaid invoice, this and earlier fees and interest, and a QR-bill for the
    whole amount due with the invoice's own reference (so the payment matches the invoice)."""
    lb = labels(invoice.language)
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, invariant=1)
    canvas.setTitle(f"{lb['reminder']} {level} {invoice.number}")
    page = _Page(canvas, settings)
    page.address(debtor(profile))
    page.title(f"{level}. {lb['reminder']} — {lb['invoice']} {invoice.number}")
    page.text(f"{lb['date']}: {fmt_date(issued_on)}")
    page.text(lb["reminder_intro"])
    page.y -= 3 * mm
    heading = (
        f"{lb['invoice']} {invoice.number} {lb['date']} {fmt_date(invoice.issue_date)}, "
        f"{lb['due']} {fmt_date(invoice.due_date)}"
    )
    page.row([(20, heading, "l"), (190, chf(invoice.total), "r")])
    if invoice.amount_paid or invoice.amount_credited:
        page.row([(20, "./.", "l"), (190, chf(-(invoice.amount_paid + invoice.amount_credited)), "r")])
    for label, amount in fees:
        page.row([(20, label, "l"), (190, chf(amount), "r")])
    page.row([(20, lb["open"], "l"), (190, chf(amount_due), "r")], bold=True)
    page.y -= 3 * mm
    page.text(lb["pay_by"].format(date=fmt_date(pay_by)))
    _draw_qr(
        canvas,
        qr_bill(
            invoice,
            profile,
            settings,
            amount_due,
            f"{level}. {lb['reminder']} {lb['invoice']} {invoice.number}",
        ),
    )
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def retrieval_notice_pdf(
    profile: BillingProfile,
    settings: Settings,
    *,
    issued_on: date,
    kiosks: list[tuple[str, str, str]],
    invoices: list[Invoice],
    amount_due: int,
    deadline: date,
) -> bytes:
    """§7.6 written notice to the contact person: kiosks (id, serial, site), amounts due, deadline.
    In the language being written (the caller's `use_language(customer language)`)."""
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, invariant=1)
    canvas.setTitle(_("Notice of retrieval of the NoxusTime equipment"))
    page = _Page(canvas, settings)
    page.address(contact(profile))
    page.text(_("%(town)s, %(date)s", town=settings.billing_creditor_town, date=fmt_date(issued_on)))
    page.y -= 2 * mm
    page.title(_("Notice of retrieval of the NoxusTime equipment (terms §7.6)"))
    page.text(_("Customer: %(name)s", name=profile.legal_name))
    for para in (
        _("Dear %(name)s,", name=profile.contact_name),
        _("the NoxusTime subscription and additional users invoiced below are more than two months"),
        _("past due. Under section 7.6 of our general terms, NOXUS Informatique will come and take back"),
        _("the NoxusTime kiosks, which are its property (§11.3),"),
        _(
            "unless the amount due of CHF %(amount)s reaches us by %(deadline)s.",
            amount=chf(amount_due),
            deadline=fmt_date(deadline),
        ),
        _("Your employees' punches keep being recorded and no data is deleted."),
    ):
        page.text(para)
    page.y -= 3 * mm
    page.row(
        [(20, _("Invoice"), "l"), (60, _("Date"), "l"), (90, _("Due"), "l"), (190, _("Balance CHF"), "r")],
        bold=True,
    )
    for inv in invoices:
        page.row(
            [
                (20, inv.number or "", "l"),
                (60, fmt_date(inv.issue_date), "l"),
                (90, fmt_date(inv.due_date), "l"),
                (190, chf(inv.balance), "r"),
            ]
        )
    page.row([(20, _("Total due"), "l"), (190, chf(amount_due), "r")], bold=True)
    page.y -= 3 * mm
    page.row([(20, _("Kiosk"), "l"), (60, _("Serial number"), "l"), (110, _("Site"), "l")], bold=True)
    for kiosk_id, serial, site in kiosks:
        page.row([(20, kiosk_id, "l"), (60, serial, "l"), (110, site, "l")])
    page.y -= 3 * mm
    page.text(_("A payment before the visit cancels it. Visits: Vaud working days,"))
    page.text(_("08:00–12:00 and 13:30–18:00."))
    page.y -= 5 * mm
    page.text(settings.billing_creditor_name, bold=True)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()
