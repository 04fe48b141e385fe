"""Request and response schemas of the billing API (and forms) that are not table models."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator
from sqlmodel import Field, SQLModel

# Business dates: bounded so that month arithmetic never leaves the calendar (422, not 500).
BillingDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


def parse_chf(value) -> int:
    """An amount in CHF as people type it — "120", "120.00", "4.50", "1'234.50", "1234,50",
    "CHF 12.-" — to integer centimes. An int is taken as centimes already (the JSON API)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().upper().removeprefix("CHF").strip().replace("'", "").replace("’", "")
    text = text.replace(" ", "").replace("\u00a0", "")
    if text.endswith((".-", ",-", ".–")):
        text = text[:-2]
    text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in CHF, e.g. 120.00 or 1'234.50") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value!r}: at most two decimals (centimes)")
    return int(amount * 100)


Centimes = Annotated[int, BeforeValidator(parse_chf)]


class PlanCreate(SQLModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)


class PlanPublic(PlanCreate):
    id: int


class ContractEnd(SQLModel):
    end_date: BillingDate
    cause: str = Field(min_length=1, max_length=200)


class ContractKioskChange(SQLModel):
    kiosk_id: str = Field(min_length=1, max_length=32)
    on: BillingDate


class RunRequest(SQLModel):
    period: BillingDate


class RunPublic(SQLModel):
    period: date
    created: int
    existing: int
    nothing_due: int
    errors: list[str]


class CustomerPreviewPublic(SQLModel):
    customer_id: int
    drafts: int
    subtotal: int
    vat_total: int
    total: int


class PreviewPublic(SQLModel):
    period: date | None
    drafts: int
    subtotal: int
    vat_total: int
    total: int
    customers: list[CustomerPreviewPublic]


class IssueRequest(SQLModel):
    """Issue these drafts (ids), or every draft of a run period."""

    invoice_ids: list[int] | None = None
    period: BillingDate | None = None


class LineEdit(SQLModel):
    description: str = Field(min_length=1, max_length=300)
    quantity: str = Field(default="1", max_length=24)
    unit_price: Centimes  # CHF as typed ("120.00") or centimes (int) in JSON


class CreditNoteRequest(SQLModel):
    """Without `amount`: a full credit note (the invoice is voided if open). With it: a partial
    credit of that amount, VAT included."""

    reason: str = Field(min_length=1, max_length=200)
    amount: Centimes | None = None


class DunningRequest(SQLModel):
    day: BillingDate | None = None  # None: today; earlier needs a reason; later is refused
    reason: str | None = Field(default=None, max_length=300)


class PaymentEntry(SQLModel):
    amount: Centimes
    value_date: BillingDate | None = None  # None: today
    reference: str | None = Field(default=None, max_length=40)
    invoice_id: int | None = None
    bank_ref: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=300)  # the reason of a back-dated entry


class NoticeSent(SQLModel):
    sent_at: datetime | None = None  # None: now
    channel: str = Field(min_length=1, max_length=60)
    reason: str | None = Field(default=None, max_length=300)


class VisitSchedule(SQLModel):
    start: datetime
    end: datetime


class RetrievalCasePublic(SQLModel):
    id: int
    customer_id: int
    reason: str
    contract_id: int | None
    status: str
    opened_on: date
    amount_due: int
    deadline: date
    notice_sent_at: datetime | None
    notice_channel: str | None
    visit_start: datetime | None
    visit_end: datetime | None


class MatchSuggestionPublic(SQLModel):
    invoice_id: int
    number: str | None
    customer_id: int
    balance: int
    score: int
    reasons: list[str]


# --- set-up forms (billing/setup_pages.py): amounts typed in CHF, one translated message per field ---


def _form_chf(value) -> int:
    from noxus.core.i18n import gettext as _

    try:
        return parse_chf(value)
    except ValueError:
        raise ValueError(_("Enter an amount in CHF, for example 1'234.50.")) from None


FormCentimes = Annotated[int, BeforeValidator(_form_chf), Field(ge=0)]


class PriceVersionForm(SQLModel):
    """A dated price list version as typed on the plans page (amounts in CHF)."""

    effective_from: BillingDate
    monthly_fee: FormCentimes = 0
    monthly_fee_per_kiosk: FormCentimes = 0
    users_included: int = Field(default=0, ge=0)
    price_per_additional_user: FormCentimes = 0
    setup_fee: FormCentimes = 0


class PlanSetupCreate(PlanCreate, PriceVersionForm):
    """A new plan and its first price list version, in one form."""
