"""Billing tables: billing profiles, plans (versioned), contracts, usage snapshots,
invoices and their lines, payments, reminders, retrieval cases, documents, audit events
(mails go through the outbox of noxus.core.outbox).

Money is integer centimes (CHF) everywhere; rates are basis points (810 = 8.10 %).
Nothing here is a column on another context's table: `customer.id` and `kiosk.id`
are referenced by foreign key only.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from noxus.core.types import BigIntPK, UTCDateTime, utcnow


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # finalized: numbered, immutable, payable
    PAID = "paid"
    VOID = "void"  # cancelled by a credit note


# Every allowed invoice transition, in one place (billing.invoices.transition checks it).
INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.OPEN}),  # a payment reversed
    InvoiceStatus.VOID: frozenset(),
}


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class LineKind(StrEnum):
    SUBSCRIPTION = "subscription"  # per contract, in advance
    KIOSK = "kiosk"  # per kiosk, in advance
    ADDITIONAL_USERS = "additional_users"  # in arrears
    USAGE_ADJUSTMENT = "usage_adjustment"  # late punches after a snapshot
    SETUP = "setup"  # one-time
    CREDIT = "credit"  # on credit notes
    ROUNDING = "rounding"  # to CHF 0.05, outside VAT


class OverdueState(StrEnum):
    """A customer's dunning state (Kill Bill's overdue states)."""

    GOOD = "good"
    OVERDUE = "overdue"  # past due, in default (§7.1), no reminder needed
    SUSPENDED = "suspended"  # §7.2: exports/UI restricted as configured, kiosks keep recording
    RETRIEVAL = "retrieval"  # §7.6: two months past due, kiosks flagged for retrieval


class RetrievalStatus(StrEnum):
    FLAGGED = "flagged"  # notice generated, not yet sent
    NOTIFIED = "notified"  # staff recorded when and how the notice was sent
    SCHEDULED = "scheduled"  # visit booked within support hours
    COMPLETED = "completed"  # every kiosk retrieved
    CANCELLED = "cancelled"  # paid before the visit


RETRIEVAL_TRANSITIONS: dict[RetrievalStatus, frozenset[RetrievalStatus]] = {
    RetrievalStatus.FLAGGED: frozenset({RetrievalStatus.NOTIFIED, RetrievalStatus.CANCELLED}),
    RetrievalStatus.NOTIFIED: frozenset({RetrievalStatus.SCHEDULED, RetrievalStatus.CANCELLED}),
    RetrievalStatus.SCHEDULED: frozenset(
        {RetrievalStatus.SCHEDULED, RetrievalStatus.COMPLETED, RetrievalStatus.CANCELLED}
    ),
    RetrievalStatus.COMPLETED: frozenset(),
    RetrievalStatus.CANCELLED: frozenset(),
}


# --- customers' billing data --------------------------------------------------------------------


class BillingProfileBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", unique=True)
    legal_name: str = Field(max_length=70)  # QR-bill name field: 70 chars max
    street: str = Field(max_length=70)
    house_num: str = Field(default="", max_length=16)
    postcode: str = Field(max_length=16)
    town: str = Field(max_length=35)
    country: str = Field(default="CH", max_length=2)
    invoice_email: str = Field(max_length=254)
    language: str = Field(default="fr", max_length=2)  # fr (default), de, en
    # §7.6: the written notice goes to the contact person, by post and e-mail
    contact_name: str = Field(max_length=70)
    contact_email: str = Field(max_length=254)
    contact_street: str = Field(max_length=70)
    contact_house_num: str = Field(default="", max_length=16)
    contact_postcode: str = Field(max_length=16)
    contact_town: str = Field(max_length=35)
    contact_country: str = Field(default="CH", max_length=2)


class BillingProfile(BillingProfileBase, table=True):
    __tablename__ = "billing_profile"

    id: int | None = Field(default=None, primary_key=True)
    overdue_state: str = Field(default=OverdueState.GOOD, max_length=16)
    overdue_since: date | None = None
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspension_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BillingProfileCreate(BillingProfileBase):
    pass


class BillingProfilePublic(BillingProfileBase):
    id: int
    overdue_state: str
    overdue_since: date | None
    suspended_at: datetime | None
    suspension_reason: str | None


# --- plans and price list -----------------------------------------------------------------------


class Plan(SQLModel, table=True):
    __tablename__ = "billing_plan"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)


class PlanVersionBase(SQLModel):
    """One entry of the price list, valid from `effective_from` until the next version (§6.2)."""

    plan_id: int = Field(foreign_key="billing_plan.id", index=True)
    effective_from: date
    monthly_fee: int = Field(default=0, ge=0)  # centimes per contract and month
    monthly_fee_per_kiosk: int = Field(default=0, ge=0)  # centimes per attached kiosk and month
    users_included: int = Field(default=0, ge=0)
    price_per_additional_user: int = Field(default=0, ge=0)  # centimes per user and month
    setup_fee: int = Field(default=0, ge=0)  # centimes, once per contract


class PlanVersion(PlanVersionBase, table=True):
    __tablename__ = "billing_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)


class PlanVersionCreate(PlanVersionBase):
    pass


class PlanVersionPublic(PlanVersionBase):
    id: int


# --- contracts ----------------------------------------------------------------------------------


class ContractBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", index=True)
    plan_id: int = Field(foreign_key="billing_plan.id")
    start_date: date
    initial_term_months: int = Field(default=12, ge=1)
    renewal_term_months: int = Field(default=12, ge=1)  # tacit renewal
    notice_months: int = Field(default=3, ge=0)  # notice before the end of a term
    metering_mode: str = Field(default="punched", max_length=16)  # or "badge"
    index_revision: bool = False  # annual revision P(N) = P(N-1) x I(N) / I(N-1)
    prorata_refund: bool = True  # credit prepaid unused time when the contract ends for cause


class Contract(ContractBase, table=True):
    __tablename__ = "billing_contract"

    id: int | None = Field(default=None, primary_key=True)
    end_date: date | None = None  # last day of service
    end_cause: str | None = Field(default=None, max_length=200)
    billed_through: date | None = None  # last day of subscription already invoiced
    setup_invoiced: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContractCreate(ContractBase):
    pass


class ContractPublic(ContractBase):
    id: int
    end_date: date | None
    end_cause: str | None
    billed_through: date | None


class ContractKiosk(SQLModel, table=True):
    """A kiosk attached to a contract (per-kiosk fee; restitution at contract end)."""

    __tablename__ = "billing_contract_kiosk"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="billing_contract.id", index=True)
    kiosk_id: str = Field(foreign_key="kiosk.id", max_length=32, index=True)
    attached_on: date
    detached_on: date | None = None


class PriceRevision(SQLModel, table=True):
    """Contract prices after an index revision; they replace the price list from `effective_from`."""

    __tablename__ = "billing_price_revision"
    __table_args__ = (UniqueConstraint("contract_id", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="billing_contract.id", index=True)
    effective_from: date
    announced_on: date
    index_previous: str = Field(max_length=24)  # Decimal as text: exact
    index_current: str = Field(max_length=24)
    factor: str = Field(max_length=24)  # applied factor after the cap
    monthly_fee: int
    monthly_fee_per_kiosk: int
    price_per_additional_user: int


class PriceIndex(SQLModel, table=True):
    """Index values used by revisions (e.g. the Swiss CPI, base of the operator's choice)."""

    __tablename__ = "billing_price_index"
    __table_args__ = (UniqueConstraint("name", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="CPI", max_length=32)
    year: int
    value: str = Field(max_length=24)  # Decimal as text


# --- usage ---------------------------------------------------------------------------------------


class UsageSnapshot(SQLModel, table=True):
    """Active users of a contract for a month as counted when invoiced. A later count that
    differs gives an adjustment snapshot (and line) on the next invoice."""

    __tablename__ = "billing_usage_snapshot"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    contract_id: int = Field(foreign_key="billing_contract.id", index=True)
    month: date  # first day of the metered month
    active_users: int
    billed_additional_users: int  # cumulative for the month up to this snapshot
    invoice_id: int | None = Field(default=None, foreign_key="billing_invoice.id")
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- invoices ------------------------------------------------------------------------------------


class Invoice(SQLModel, table=True):
    __tablename__ = "billing_invoice"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=InvoiceKind.INVOICE, max_length=16)
    status: str = Field(default=InvoiceStatus.DRAFT, max_length=8, index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    contract_id: int | None = Field(default=None, foreign_key="billing_contract.id")
    # "<contract id>:<YYYY-MM>" for the monthly run: unique, so a re-run creates nothing
    run_key: str | None = Field(default=None, max_length=40, unique=True)
    period: date | None = None  # the month the run was for
    number: str | None = Field(default=None, max_length=24, unique=True)
    issue_date: date
    due_date: date
    language: str = Field(default="fr", max_length=2)
    subtotal: int = 0  # centimes, net, without rounding
    vat_total: int = 0
    rounding: int = 0
    total: int = 0
    amount_paid: int = 0  # allocated payments
    amount_credited: int = 0  # credit notes against this invoice
    fees_charged: int = 0  # reminder fees and late interest (on reminders, not lines)
    reference: str | None = Field(default=None, max_length=32, unique=True)  # QRR or SCOR
    credited_invoice_id: int | None = Field(default=None, foreign_key="billing_invoice.id")
    vat_breakdown: list | None = Field(default=None, sa_column=Column(JSON))  # [[rate_bp, base, vat]]
    reminder_level: int = 0
    # what a draft of the run consumed, given back if the draft is deleted
    prior_billed_through: date | None = None
    consumed_setup: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_on: date | None = None

    @property
    def balance(self) -> int:
        """What the customer still owes on this invoice (negative: owed to the customer)."""
        return self.total + self.fees_charged - self.amount_paid - self.amount_credited


class InvoiceLineBase(SQLModel):
    """A stored invoice line, as the API shows it too."""

    position: int
    kind: str = Field(max_length=24)
    description: str = Field(max_length=300)
    quantity: str = Field(default="1", max_length=24)  # Decimal as text (pro-rata months)
    unit_price: int  # centimes
    amount: int  # centimes, net
    vat_rate_bp: int | None = None  # None: outside VAT (rounding)
    service_start: date | None = None
    service_end: date | None = None


class InvoiceLine(InvoiceLineBase, table=True):
    __tablename__ = "billing_invoice_line"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    invoice_id: int = Field(foreign_key="billing_invoice.id", index=True)


class InvoiceLinePublic(InvoiceLineBase):
    pass


class InvoicePublic(SQLModel):
    id: int
    kind: str
    status: str
    customer_id: int
    contract_id: int | None
    period: date | None
    number: str | None
    issue_date: date
    due_date: date
    subtotal: int
    vat_total: int
    rounding: int
    total: int
    amount_paid: int
    amount_credited: int
    fees_charged: int
    balance: int
    reference: str | None
    reminder_level: int


class NumberSequence(SQLModel, table=True):
    """Gapless counters: one row per document kind and year, incremented in the finalizing
    transaction, so a rolled-back finalization gives its number back."""

    __tablename__ = "billing_number_sequence"

    name: str = Field(primary_key=True, max_length=32)
    last_value: int = 0


# --- payments ------------------------------------------------------------------------------------


class Payment(SQLModel, table=True):
    __tablename__ = "billing_payment"

    id: int | None = Field(default=None, primary_key=True)
    bank_ref: str = Field(max_length=64, unique=True)  # deduplication key (AcctSvcrRef or manual)
    source: str = Field(max_length=16)  # camt054 | manual
    amount: int  # centimes, > 0
    currency: str = Field(default="CHF", max_length=3)
    value_date: date
    reference: str | None = Field(default=None, max_length=32, index=True)  # QRR / SCOR as received
    debtor_name: str | None = Field(default=None, max_length=140)
    invoice_id: int | None = Field(default=None, foreign_key="billing_invoice.id", index=True)
    applied: int = 0  # centimes allocated to the invoice
    unapplied: int = 0  # over-payment or unmatched: credit on the customer's account
    status: str = Field(default="unmatched", max_length=12)  # matched | unmatched | ignored
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PaymentPublic(SQLModel):
    id: int
    bank_ref: str
    source: str
    amount: int
    currency: str
    value_date: date
    reference: str | None
    debtor_name: str | None
    invoice_id: int | None
    applied: int
    unapplied: int
    status: str


class PaymentCreate(SQLModel):
    amount: int = Field(gt=0)
    value_date: date
    reference: str | None = None
    invoice_id: int | None = None
    bank_ref: str | None = None
    note: str | None = None


# --- dunning -------------------------------------------------------------------------------------


class Reminder(SQLModel, table=True):
    __tablename__ = "billing_reminder"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="billing_invoice.id", index=True)
    level: int
    issued_on: date
    fee: int  # centimes
    interest: int  # centimes, late interest from the due date (or last reminder) to issued_on
    amount_due: int  # balance shown on the reminder, fees included
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RetrievalCase(SQLModel, table=True):
    """§7.6: a customer two months past due; the kiosks are to come back unless it pays."""

    __tablename__ = "billing_retrieval_case"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=32)  # unpaid | contract_end
    contract_id: int | None = Field(
        default=None, foreign_key="billing_contract.id"
    )  # contract_end: whose kiosks
    status: str = Field(default=RetrievalStatus.FLAGGED, max_length=12)
    opened_on: date
    amount_due: int  # centimes, at the time of the notice
    deadline: date  # payment deadline given in the notice
    notice_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice_channel: str | None = Field(default=None, max_length=60)  # e.g. "registered letter"
    visit_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    visit_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RetrievalKiosk(SQLModel, table=True):
    __tablename__ = "billing_retrieval_kiosk"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="billing_retrieval_case.id", index=True)
    kiosk_id: str = Field(foreign_key="kiosk.id", max_length=32)
    retrieved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retrieved_by: str | None = Field(default=None, max_length=120)


class Document(SQLModel, table=True):
    """Every PDF billing produced (invoice, reminder, notice, credit note), kept as sent."""

    __tablename__ = "billing_document"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # invoice | credit_note | reminder | notice
    customer_id: int = Field(foreign_key="customer.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="billing_invoice.id")
    reminder_id: int | None = Field(default=None, foreign_key="billing_reminder.id")
    case_id: int | None = Field(default=None, foreign_key="billing_retrieval_case.id")
    filename: str = Field(max_length=120)
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
