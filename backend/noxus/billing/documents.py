"""PDF documents: invoice and credit note with the Swiss QR-bill (payment part and receipt,
drawn by the `qrbill` package's data, see qrslip.py), reminders, and the §7.6 written notice to
the contact person; and the e-mails that carry them.

Every word comes from the gettext catalogs the pages use (noxus/locale), in the customer's
language (`invoice.language`, set from the customer when the invoice was drafted; the notice is
written in the caller's `use_language`). Amounts `CHF 1'234.50` and dates `dd.mm.yyyy` through
Babel (noxus.core.i18n). The labels of the QR-bill's payment part are the official SIX wording,
which `qrbill` carries in each language.

Rendering is deterministic for a given invoice, so a stored PDF can be re-rendered identically.
"""

import io
import unicodedata
from dataclasses import dataclass
from datetime import date

from qrbill import QRBill
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from noxus.billing.models import BillingProfile, Invoice, InvoiceKind, InvoiceLine, LineKind
from noxus.billing.money import qr_amount
from noxus.billing.qrslip import draw_payment_slip
from noxus.core.i18n import current_language, format_chf, format_date, format_rate, pgettext, use_language
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings


def amount(centimes: int) -> str:
    """A table cell under a `… CHF` heading: `1'234.50`."""
    return format_chf(centimes, symbol=False)


def title_of(invoice: Invoice) -> str:
    return _("Credit note") if invoice.kind == InvoiceKind.CREDIT_NOTE else _("Invoice")


def file_name(kind: str, *parts: object, language: str | None = None) -> str:
    """The attachment's name as the customer sees it, in the document's language:
    `facture-2026-000001.pdf`, `Mahnung-1-2026-000001.pdf`; ASCII without spaces, which every
    mail client and file system keeps."""
    with use_language(language or current_language()):
        word = {
            "invoice": pgettext("file name", "invoice"),
            "credit_note": pgettext("file name", "credit-note"),
            "reminder": pgettext("file name", "reminder"),
            "notice": pgettext("file name", "notice"),
        }[kind]
    ascii_word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().replace(" ", "-")
    return "-".join([ascii_word, *(str(p) for p in parts)]) + ".pdf"


def rate_text(bp: int) -> str:
    """A VAT rate in basis points as the language writes it: `8.1` (de), `8,1` (fr)."""
    return format_rate(bp)


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
    with use_language(invoice.language):
        message = _message(invoice)
    qr_bill(invoice, profile, settings, invoice.total, message).as_svg(out, full_page=False)
    return out.getvalue()


def _message(invoice: Invoice) -> str:
    """The QR-bill's additional information, read by the payer's bank app."""
    return f"{title_of(invoice)} {invoice.number}"


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

    def sum_row(self, label: str, centimes: int, bold: bool = False) -> None:
        """A label on the left, an amount in the right-hand column."""
        self.row([(20, label, "l"), (190, amount(centimes), "r")], bold=bold)


class _Letter:
    """One PDF: letterhead, the recipient's address, pages; `done()` gives the bytes.
    The invoice, the reminder and the notice differ only in what comes between."""

    def __init__(self, settings: Settings, title: str, to: Party):
        self.settings = settings
        self._buf = io.BytesIO()
        self.canvas = Canvas(self._buf, pagesize=A4, invariant=1)
        self.canvas.setTitle(title)
        self.page = _Page(self.canvas, settings)
        self.page.address(to)

    def new_page(self) -> _Page:
        self.canvas.showPage()
        self.page = _Page(self.canvas, self.settings)
        return self.page

    def done(self, bill: QRBill | None = None) -> bytes:
        if bill is not None:
            draw_payment_slip(self.canvas, bill)  # the payment part sits at the bottom of the page
        self.canvas.showPage()
        self.canvas.save()
        return self._buf.getvalue()


def invoice_pdf(
    invoice: Invoice,
    lines: list[InvoiceLine],
    profile: BillingProfile,
    settings: Settings,
    credited_number: str | None = None,
) -> bytes:
    with use_language(invoice.language):
        title = title_of(invoice)
        letter = _Letter(settings, f"{title} {invoice.number}", debtor(profile))
        page = letter.page
        page.title(_("%(title)s no. %(number)s", title=title, number=invoice.number))
        page.text(
            "    ".join(
                (
                    _("Date: %(date)s", date=format_date(invoice.issue_date)),
                    _("Due: %(date)s", date=format_date(invoice.due_date)),
                    _("Customer no. %(id)s", id=invoice.customer_id),
                )
            )
        )
        if credited_number:
            page.text(_("Credits invoice %(number)s", number=credited_number))
        page.y -= 3 * mm
        page.row(
            [
                (20, _("Description"), "l"),
                (130, _("Qty"), "r"),
                (155, _("Unit price"), "r"),
                (170, _("VAT"), "r"),
                (190, _("Amount CHF"), "r"),
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
                    (155, amount(ln.unit_price), "r"),
                    (170, f"{rate_text(ln.vat_rate_bp)} %" if ln.vat_rate_bp is not None else "", "r"),
                    (190, amount(ln.amount), "r"),
                ]
            )
            if page.y < 120 * mm:  # keep the payment part free: continue on a new page
                page = letter.new_page()
        page.y -= 2 * mm
        page.sum_row(_("Subtotal excl. VAT"), invoice.subtotal)
        for rate, base, vat in invoice.vat_breakdown or []:
            page.sum_row(_("VAT %(rate)s %% on %(base)s", rate=rate_text(rate), base=format_chf(base)), vat)
        if invoice.rounding:
            page.sum_row(_("Rounding"), invoice.rounding)
        page.sum_row(_("Total CHF"), invoice.total, bold=True)
        if invoice.kind != InvoiceKind.INVOICE:
            return letter.done()
        page.y -= 3 * mm
        page.text(
            _(
                "Payable net within %(days)s days (terms §7.1).",
                days=(invoice.due_date - invoice.issue_date).days,
            )
        )
        page.text(_("Reference: %(reference)s", reference=invoice.reference))
        return letter.done(qr_bill(invoice, profile, settings, invoice.total, _message(invoice)))


def reminder_title(invoice: Invoice, level: int) -> str:
    """`Rappel 2 — facture 2026-000014`: the PDF's heading and the e-mail's subject."""
    return _("Reminder %(level)s — invoice %(number)s", level=level, number=invoice.number)


def reminder_fees(fees: list[tuple[int, int, int]]) -> list[tuple[str, int]]:
    """(level, fee, interest) of every reminder so far -> labelled amounts, in the language being
    written."""
    rows: list[tuple[str, int]] = []
    for level, fee, interest in fees:
        rows.append((_("Reminder fee (%(level)s)", level=level), fee))
        if interest:
            rows.append((_("Late interest (%(level)s)", level=level), interest))
    return rows


def reminder_pdf(
    invoice: Invoice,
    profile: BillingProfile,
    settings: Settings,
    *,
    level: int,
    issued_on: date,
    fees: list[tuple[int, int, int]],
    amount_due: int,
    pay_by: date,
) -> bytes:
    """A reminder: the unpaid invoice, this and earlier fees and interest (level, fee, interest),
    and a QR-bill for the whole amount due with the invoice's own reference (so the payment
    matches the invoice)."""
    with use_language(invoice.language):
        title = reminder_title(invoice, level)
        letter = _Letter(settings, title, debtor(profile))
        page = letter.page
        page.title(title)
        page.text(_("Date: %(date)s", date=format_date(issued_on)))
        page.text(_("According to our records the invoice below is still unpaid."))
        page.y -= 3 * mm
        page.sum_row(
            _(
                "Invoice %(number)s of %(date)s, due %(due)s",
                number=invoice.number,
                date=format_date(invoice.issue_date),
                due=format_date(invoice.due_date),
            ),
            invoice.total,
        )
        if invoice.amount_paid or invoice.amount_credited:
            page.sum_row(_("Paid or credited"), -(invoice.amount_paid + invoice.amount_credited))
        for label, centimes in reminder_fees(fees):
            page.sum_row(label, centimes)
        page.sum_row(_("Amount due CHF"), amount_due, bold=True)
        page.y -= 3 * mm
        page.text(_("Please pay the amount due by %(date)s.", date=format_date(pay_by)))
        return letter.done(qr_bill(invoice, profile, settings, amount_due, title))


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
    letter = _Letter(settings, _("Notice of retrieval of the NoxusTime equipment"), contact(profile))
    page = letter.page
    page.text(_("%(town)s, %(date)s", town=settings.billing_creditor_town, date=format_date(issued_on)))
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
            amount=amount(amount_due),
            deadline=format_date(deadline),
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
                (60, format_date(inv.issue_date), "l"),
                (90, format_date(inv.due_date), "l"),
                (190, amount(inv.balance), "r"),
            ]
        )
    page.sum_row(_("Total due"), amount_due, bold=True)
    page.y -= 3 * mm
    page.row([(20, _("Kiosk"), "l"), (60, _("Serial number"), "l"), (110, _("Site"), "l")], bold=True)
    for kiosk_id, serial, site in kiosks:
        page.row([(20, kiosk_id, "l"), (60, serial, "l"), (110, site, "l")])
    page.y -= 3 * mm
    page.text(_("A payment before the visit cancels it. Visits: Vaud working days,"))
    page.text(_("08:00–12:00 and 13:30–18:00."))
    page.y -= 5 * mm
    page.text(settings.billing_creditor_name, bold=True)
    return letter.done()


# --- the e-mails that carry them ------------------------------------------------------------------


def invoice_mail(invoice: Invoice, settings: Settings) -> tuple[str, str]:
    """(subject, body) of the e-mail carrying an invoice or credit note, in its language."""
    with use_language(invoice.language):
        title = title_of(invoice)
        if invoice.kind == InvoiceKind.CREDIT_NOTE:
            what = _(
                "Please find attached credit note %(number)s of %(date)s for %(total)s.",
                number=invoice.number,
                date=format_date(invoice.issue_date),
                total=format_chf(invoice.total),
            )
        else:
            what = _(
                "Please find attached invoice %(number)s of %(date)s for %(total)s, payable by %(due)s.",
                number=invoice.number,
                date=format_date(invoice.issue_date),
                total=format_chf(invoice.total),
                due=format_date(invoice.due_date),
            )
        subject = f"{title} {invoice.number} — NoxusTime"
        return subject, _letter_body(_("Dear Sir or Madam,"), [what], settings)


def reminder_mail(invoice: Invoice, level: int, pay_by: date, settings: Settings) -> tuple[str, str]:
    with use_language(invoice.language):
        return reminder_title(invoice, level), _letter_body(
            _("Dear Sir or Madam,"),
            [
                _(
                    "According to our records invoice %(number)s of %(date)s is still unpaid.",
                    number=invoice.number,
                    date=format_date(invoice.issue_date),
                ),
                _("Amount due: %(amount)s", amount=format_chf(invoice.balance)),
                _("Please pay the amount due by %(date)s.", date=format_date(pay_by)),
            ],
            settings,
        )


def _letter_body(salutation: str, paragraphs: list[str], settings: Settings) -> str:
    return "\n\n".join([salutation, *paragraphs, _("Kind regards")]) + f"\n{settings.billing_creditor_name}\n"
