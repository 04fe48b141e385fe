"""Billing JSON API (/api/v1/billing). Thin: every route calls a billing service function.
Staff with the billing role (or admin) do everything; technicians mark kiosks retrieved;
customer users read their own invoices and PDFs."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from noxus.billing import camt, dunning, issuing, payments, retrieval
from noxus.billing.contracts import ContractError, end_contract
from noxus.billing.invoices import InvoiceStateError, credit, lines_of
from noxus.billing.models import (
    BillingProfile,
    BillingProfileCreate,
    BillingProfilePublic,
    Contract,
    ContractCreate,
    ContractPublic,
    Document,
    Invoice,
    InvoiceLinePublic,
    InvoicePublic,
    Payment,
    PaymentCreate,
    PaymentPublic,
    Plan,
    PlanVersion,
    PlanVersionCreate,
    PlanVersionPublic,
    RetrievalCase,
)
from noxus.billing.run import run_month
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import AnyUser, BillingStaff, TechStaff, TenantScope
from noxus.core.types import utcnow

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])
# Business dates: bounded so that month arithmetic never leaves the calendar (422, not 500).
BillingDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class PlanCreate(SQLModel):
    code: str
    name: str


class PlanPublic(PlanCreate):
    id: int


class ContractEnd(SQLModel):
    end_date: BillingDate
    cause: str = Field(min_length=1, max_length=200)
    today: BillingDate | None = None


class RunRequest(SQLModel):
    period: BillingDate
    issue_date: BillingDate | None = None


class RunPublic(SQLModel):
    period: date
    created: int
    existing: int
    nothing_due: int
    errors: list[str]


class DunningRequest(SQLModel):
    today: BillingDate


class NoticeSent(SQLModel):
    sent_at: datetime
    channel: str


class VisitSchedule(SQLModel):
    start: datetime
    end: datetime


class RetrievalCasePublic(SQLModel):
    id: int
    customer_id: int
    reason: str
    status: str
    opened_on: date
    amount_due: int
    deadline: date
    notice_sent_at: datetime | None
    notice_channel: str | None
    visit_start: datetime | None
    visit_end: datetime | None


def _commit(session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, f"{what}: it refers to something that does not exist or duplicates "
                                 "an existing entry; check the ids and unique fields") from None


def _invoice_public(inv: Invoice) -> InvoicePublic:
    return InvoicePublic.model_validate({**inv.model_dump(), "balance": inv.balance})


def _invoice(session, invoice_id: int, scope) -> Invoice:
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise HTTPException(404, f"invoice {invoice_id} not found")
    scope.check(inv.customer_id, "invoice")
    return inv


# --- profiles, plans, contracts --------------------------------------------------------------------

@router.put("/customers/{customer_id}/profile", response_model=BillingProfilePublic)
def put_profile(customer_id: int, data: BillingProfileCreate, session: SessionDep, user: BillingStaff):
    if data.customer_id != customer_id:
        raise HTTPException(422, "customer_id in the body must match the URL")
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        profile = BillingProfile.model_validate(data)
    else:
        profile.sqlmodel_update(data.model_dump())
    session.add(profile)
    _commit(session, "billing profile")
    session.refresh(profile)
    return BillingProfilePublic.model_validate(profile)


@router.get("/customers/{customer_id}/profile", response_model=BillingProfilePublic)
def get_profile(customer_id: int, session: SessionDep, user: BillingStaff):
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        raise HTTPException(404, f"customer {customer_id} has no billing profile yet: PUT one")
    return BillingProfilePublic.model_validate(profile)


@router.post("/plans", response_model=PlanPublic, status_code=201)
def create_plan(data: PlanCreate, session: SessionDep, user: BillingStaff):
    plan = Plan.model_validate(data)
    session.add(plan)
    _commit(session, "plan")
    session.refresh(plan)
    return PlanPublic.model_validate(plan)


@router.post("/plans/{plan_id}/versions", response_model=PlanVersionPublic, status_code=201)
def add_plan_version(plan_id: int, data: PlanVersionCreate, session: SessionDep, user: BillingStaff):
    if data.plan_id != plan_id:
        raise HTTPException(422, "plan_id in the body must match the URL")
    version = PlanVersion.model_validate(data)
    session.add(version)
    _commit(session, "price list version")
    session.refresh(version)
    return PlanVersionPublic.model_validate(version)


@router.post("/contracts", response_model=ContractPublic, status_code=201)
def create_contract(data: ContractCreate, session: SessionDep, user: BillingStaff):
    contract = Contract.model_validate(data)
    session.add(contract)
    _commit(session, "contract")
    session.refresh(contract)
    return ContractPublic.model_validate(contract)


@router.post("/contracts/{contract_id}/end", response_model=list[InvoicePublic])
def end(contract_id: int, data: ContractEnd, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise HTTPException(404, f"contract {contract_id} not found")
    try:
        notes = end_contract(session, contract, data.end_date, data.cause, data.today or date.today(), settings,
                             actor=user.actor)
    except ContractError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return [_invoice_public(n) for n in notes]


# --- runs and invoices -----------------------------------------------------------------------------

@router.post("/runs", response_model=RunPublic)
def run(data: RunRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    result = run_month(session, data.period, settings, issue_date=data.issue_date, actor=user.actor)
    return RunPublic(period=result.period, created=len(result.created), existing=result.existing,
                     nothing_due=result.nothing_due, errors=result.errors)


@router.get("/invoices", response_model=list[InvoicePublic])
def list_invoices(session: SessionDep, scope: TenantScope, user: AnyUser, customer_id: int | None = None,
                  status: str | None = None, limit: int = 200):
    q = scope.where(select(Invoice), Invoice.customer_id)
    if customer_id is not None:
        q = q.where(Invoice.customer_id == customer_id)
    if status:
        q = q.where(Invoice.status == status)
    return [_invoice_public(i) for i in session.exec(q.order_by(Invoice.id.desc()).limit(min(limit, 1000)))]


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic)
def get_invoice(invoice_id: int, session: SessionDep, scope: TenantScope, user: AnyUser):
    return _invoice_public(_invoice(session, invoice_id, scope))


@router.get("/invoices/{invoice_id}/lines", response_model=list[InvoiceLinePublic])
def get_lines(invoice_id: int, session: SessionDep, scope: TenantScope, user: AnyUser):
    _invoice(session, invoice_id, scope)
    return [InvoiceLinePublic.model_validate(ln) for ln in lines_of(session, invoice_id)]


@router.get("/invoices/{invoice_id}/pdf", response_class=Response)
def invoice_pdf(invoice_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: AnyUser):
    inv = _invoice(session, invoice_id, scope)
    if inv.number is None:
        raise HTTPException(409, "a draft has no PDF: finalize it first")
    doc = session.exec(select(Document).where(Document.invoice_id == inv.id,
                                              Document.kind.in_(["invoice", "credit_note"]))).first()
    pdf = doc.pdf if doc else issuing.render_invoice(session, inv, settings)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{inv.kind}-{inv.number}.pdf"'})


@router.get("/invoices/{invoice_id}/qrbill.svg", response_class=Response)
def invoice_qr_svg(invoice_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                   user: AnyUser):
    from noxus.billing.documents import qr_bill_svg

    inv = _invoice(session, invoice_id, scope)
    if inv.reference is None:
        raise HTTPException(409, "only a finalized invoice has a QR-bill")
    return Response(qr_bill_svg(inv, issuing.profile_of(session, inv.customer_id), settings),
                    media_type="image/svg+xml")


@router.post("/invoices/{invoice_id}/void", response_model=InvoicePublic)
def void_invoice(invoice_id: int, session: SessionDep, settings: SettingsDep, user: BillingStaff,
                 reason: str = "cancelled"):
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise HTTPException(404, f"invoice {invoice_id} not found")
    try:
        note = credit(session, inv, issue_date=date.today(), iban=settings.billing_iban, reason=reason,
                      actor=user.actor)
    except InvoiceStateError as exc:
        raise HTTPException(409, str(exc)) from None
    issuing.issue(session, note, settings, user.actor)
    dunning.refresh_customer(session, inv.customer_id, date.today(), settings, user.actor)
    session.commit()
    return _invoice_public(note)


# --- payments --------------------------------------------------------------------------------------

@router.post("/payments", response_model=PaymentPublic, status_code=201)
def manual_payment(data: PaymentCreate, session: SessionDep, user: BillingStaff):
    bank_ref = data.bank_ref or f"manual-{utcnow():%Y%m%d%H%M%S%f}"
    try:
        payment = payments.record(session, bank_ref=bank_ref, amount=data.amount, value_date=data.value_date,
                                  source="manual", reference=data.reference, invoice_id=data.invoice_id,
                                  note=data.note, actor=user.actor)
    except payments.PaymentError as exc:
        raise HTTPException(422, str(exc)) from None
    if payment is None:
        raise HTTPException(409, f"a payment with bank reference {bank_ref} already exists")
    session.commit()
    return PaymentPublic.model_validate(payment)


@router.post("/payments/camt054")
def import_camt(session: SessionDep, user: BillingStaff, file: Annotated[UploadFile, File()]):
    try:
        result = payments.import_camt054(session, file.file.read(), actor=user.actor)
    except camt.CamtError as exc:
        raise HTTPException(422, f"{file.filename}: {exc}") from None
    session.commit()
    return {"new": result.new, "duplicates": result.duplicates, "matched": result.matched,
            "unmatched": result.unmatched, "skipped": result.skipped}


@router.get("/payments/unmatched", response_model=list[PaymentPublic])
def unmatched(session: SessionDep, user: BillingStaff):
    return [PaymentPublic.model_validate(p) for p in payments.unmatched(session)]


@router.post("/payments/{payment_id}/assign", response_model=PaymentPublic)
def assign(payment_id: int, invoice_id: int, session: SessionDep, user: BillingStaff):
    try:
        payment = payments.assign(session, payment_id, invoice_id, user.actor)
    except payments.PaymentError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return PaymentPublic.model_validate(session.get(Payment, payment.id))


# --- dunning and retrieval -------------------------------------------------------------------------

@router.post("/dunning/run")
def run_dunning(data: DunningRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    r = dunning.run_dunning(session, data.today, settings, user.actor)
    return {"reminders": len(r.reminders), "suspended": r.suspended, "retrieval_cases": r.retrieval_cases,
            "cleared": r.cleared}


@router.get("/retrieval-cases", response_model=list[RetrievalCasePublic])
def list_cases(session: SessionDep, user: BillingStaff):
    return [RetrievalCasePublic.model_validate(c)
            for c in session.exec(select(RetrievalCase).order_by(RetrievalCase.id.desc()))]


def _case_call(session, fn, *args) -> RetrievalCasePublic:
    try:
        case = fn(session, *args)
    except (retrieval.RetrievalError, ValueError) as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return RetrievalCasePublic.model_validate(case)


@router.post("/retrieval-cases/{case_id}/notice-sent", response_model=RetrievalCasePublic)
def notice_sent(case_id: int, data: NoticeSent, session: SessionDep, user: BillingStaff):
    return _case_call(session, retrieval.record_notice_sent, case_id, data.sent_at, data.channel, user.actor)


@router.post("/retrieval-cases/{case_id}/visit", response_model=RetrievalCasePublic)
def schedule(case_id: int, data: VisitSchedule, session: SessionDep, user: BillingStaff):
    return _case_call(session, retrieval.schedule_visit, case_id, data.start, data.end, user.actor)


@router.post("/retrieval-cases/{case_id}/kiosks/{kiosk_id}/retrieved", response_model=RetrievalCasePublic)
def kiosk_retrieved(case_id: int, kiosk_id: str, session: SessionDep, user: TechStaff):
    return _case_call(session, retrieval.mark_retrieved, case_id, kiosk_id, user.actor)
