"""Billing JSON API (/api/v1/billing). Thin: every route calls a billing service function; the
same operations as the staff pages and `noxus billing …`. Staff with the billing role (or admin)
do everything; technicians mark kiosks retrieved; customer users read their own invoices and PDFs.
Business dates are "today" in the company zone unless a back-dated one comes with a reason."""

from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, select

from noxus.billing import camt, drafts, dunning, issuing, payments, retrieval
from noxus.billing.contracts import ContractError, attach_kiosk, detach_kiosk, end_contract
from noxus.billing.dates import BusinessDateError, action_date, company_today
from noxus.billing.invoices import InvoiceStateError, credit, credit_amount, lines_of
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
    InvoiceStatus,
    Payment,
    PaymentPublic,
    Plan,
    PlanVersion,
    PlanVersionCreate,
    PlanVersionPublic,
    RetrievalCase,
)
from noxus.billing.run import run_month
from noxus.billing.schemas import (
    ContractEnd,
    ContractKioskChange,
    CreditNoteRequest,
    CustomerPreviewPublic,
    DunningRequest,
    IssueRequest,
    LineEdit,
    MatchSuggestionPublic,
    NoticeSent,
    PaymentEntry,
    PlanCreate,
    PlanPublic,
    PreviewPublic,
    RetrievalCasePublic,
    RunPublic,
    RunRequest,
    VisitSchedule,
)
from noxus.billing.state import standing
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import gettext as _
from noxus.core.security import AnyUser, BillingStaff, TechStaff, TenantScope
from noxus.core.types import id_of, stored_ids, utcnow
from noxus.web.download import content_disposition

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


def _commit(session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(
            409,
            f"{what}: it refers to something that does not exist or duplicates "
            "an existing entry; check the ids and unique fields",
        ) from None


P = TypeVar("P", bound=BaseModel)


def _saved(session, row: SQLModel, what: str, public: type[P]) -> P:
    """A row created or changed through the API, stored, and returned as its published schema."""
    session.add(row)
    _commit(session, what)
    session.refresh(row)
    return public.model_validate(row)


def _invoice_public(inv: Invoice) -> InvoicePublic:
    # getattr, not model_dump(): it loads attributes expired by a commit
    return InvoicePublic.model_validate({k: getattr(inv, k) for k in InvoicePublic.model_fields})


def invoice_or_404(session, invoice_id: int) -> Invoice:
    """The invoice (or credit note) `invoice_id`, else a 404 that says so (API and pages)."""
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise HTTPException(404, _("Invoice %(id)s does not exist.", id=invoice_id))
    return inv


def _invoice(session, invoice_id: int, scope) -> Invoice:
    inv = invoice_or_404(session, invoice_id)
    scope.check(inv.customer_id, "invoice")
    return inv


def _refused(session, exc: Exception, status: int = 409):
    session.rollback()
    raise HTTPException(status, str(exc)) from None


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
    return _saved(session, profile, "billing profile", BillingProfilePublic)


@router.get("/customers/{customer_id}/profile", response_model=BillingProfilePublic)
def get_profile(customer_id: int, session: SessionDep, user: BillingStaff):
    profile = session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()
    if profile is None:
        raise HTTPException(404, f"customer {customer_id} has no billing profile yet: PUT one")
    return BillingProfilePublic.model_validate(profile)


@router.get("/customers/{customer_id}/standing")
def get_standing(
    customer_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: AnyUser
):
    scope.check(customer_id, "customer")
    s = standing(session, customer_id, company_today(settings), settings)
    return {
        "customer_id": customer_id,
        "state": s.state.value,
        "reminder_level": s.reminder_level,
        "invoice_number": s.invoice_number,
        "due_date": s.due_date,
        "past_due_balance": s.past_due_balance,
    }


@router.post("/plans", response_model=PlanPublic, status_code=201)
def create_plan(data: PlanCreate, session: SessionDep, user: BillingStaff):
    return _saved(session, Plan.model_validate(data), "plan", PlanPublic)


@router.post("/plans/{plan_id}/versions", response_model=PlanVersionPublic, status_code=201)
def add_plan_version(plan_id: int, data: PlanVersionCreate, session: SessionDep, user: BillingStaff):
    if data.plan_id != plan_id:
        raise HTTPException(422, "plan_id in the body must match the URL")
    return _saved(session, PlanVersion.model_validate(data), "price list version", PlanVersionPublic)


@router.post("/contracts", response_model=ContractPublic, status_code=201)
def create_contract(data: ContractCreate, session: SessionDep, user: BillingStaff):
    return _saved(session, Contract.model_validate(data), "contract", ContractPublic)


def _contract(session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise HTTPException(404, f"contract {contract_id} not found")
    return contract


@router.post("/contracts/{contract_id}/kiosks", status_code=201)
def contract_kiosk_attach(
    contract_id: int, data: ContractKioskChange, session: SessionDep, user: BillingStaff
):
    try:
        row = attach_kiosk(session, _contract(session, contract_id), data.kiosk_id, data.on, user.actor)
    except ContractError as exc:
        _refused(session, exc)
    _commit(session, "contract kiosk")
    return {"contract_id": contract_id, "kiosk_id": row.kiosk_id, "attached_on": row.attached_on}


@router.post("/contracts/{contract_id}/kiosks/{kiosk_id}/detach")
def contract_kiosk_detach(
    contract_id: int, kiosk_id: str, data: ContractKioskChange, session: SessionDep, user: BillingStaff
):
    try:
        row = detach_kiosk(session, _contract(session, contract_id), kiosk_id, data.on, user.actor)
    except ContractError as exc:
        _refused(session, exc)
    _commit(session, "contract kiosk")
    return {"contract_id": contract_id, "kiosk_id": row.kiosk_id, "detached_on": row.detached_on}


@router.post("/contracts/{contract_id}/end", response_model=list[InvoicePublic])
def end(contract_id: int, data: ContractEnd, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    contract = _contract(session, contract_id)
    try:
        notes = end_contract(
            session, contract, data.end_date, data.cause, company_today(settings), settings, actor=user.actor
        )
    except ContractError as exc:
        _refused(session, exc)
    session.commit()
    return [_invoice_public(n) for n in notes]


# --- runs, drafts and invoices ---------------------------------------------------------------------


@router.post("/runs", response_model=RunPublic)
def run(data: RunRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    """Draft the month's invoices (nothing is numbered nor sent: review, then issue)."""
    result = run_month(session, data.period, settings, actor=user.actor)
    return RunPublic(
        period=result.period,
        created=len(result.created),
        existing=result.existing,
        nothing_due=result.nothing_due,
        errors=result.errors,
    )


@router.get("/drafts/preview", response_model=PreviewPublic)
def drafts_preview(session: SessionDep, user: BillingStaff, period: date | None = None):
    p = drafts.preview(session, period.replace(day=1) if period else None)
    return PreviewPublic(
        period=p.period,
        drafts=p.drafts,
        subtotal=p.subtotal,
        vat_total=p.vat_total,
        total=p.total,
        customers=[CustomerPreviewPublic.model_validate(c.__dict__) for c in p.customers],
    )


@router.post("/drafts/issue", response_model=list[InvoicePublic])
def issue_drafts(data: IssueRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    """Issue drafts today: number, issue and due date, PDF, e-mail."""
    ids = data.invoice_ids
    if ids is None:
        if data.period is None:
            raise HTTPException(422, "name the drafts (invoice_ids) or the run (period) to issue")
        ids = stored_ids(
            session.exec(
                select(col(Invoice.id)).where(
                    Invoice.status == InvoiceStatus.DRAFT, Invoice.period == data.period.replace(day=1)
                )
            )
        )
    try:
        issued = issuing.issue_drafts(session, ids, settings, company_today(settings), user.actor)
    except InvoiceStateError as exc:
        _refused(session, exc)
    session.commit()
    return [_invoice_public(i) for i in issued]


def _draft_call(session, fn, *args, **kwargs) -> InvoicePublic:
    """A change to a draft's lines: 409 when it is issued already, 422 when the line is not valid."""
    try:
        inv = fn(session, *args, **kwargs)
    except InvoiceStateError as exc:
        _refused(session, exc)
    except ValueError as exc:
        _refused(session, exc, 422)
    session.commit()
    return _invoice_public(inv)


def _set_line(session, invoice_id: int, position: int | None, data: LineEdit, actor: str) -> InvoicePublic:
    return _draft_call(
        session,
        drafts.set_line,
        invoice_id,
        position=position,
        description=data.description,
        quantity=data.quantity,
        unit_price=data.unit_price,
        actor=actor,
    )


@router.put("/invoices/{invoice_id}/lines/{position}", response_model=InvoicePublic)
def edit_line(invoice_id: int, position: int, data: LineEdit, session: SessionDep, user: BillingStaff):
    return _set_line(session, invoice_id, position, data, user.actor)


@router.post("/invoices/{invoice_id}/lines", response_model=InvoicePublic, status_code=201)
def add_line(invoice_id: int, data: LineEdit, session: SessionDep, user: BillingStaff):
    return _set_line(session, invoice_id, None, data, user.actor)


@router.delete("/invoices/{invoice_id}/lines/{position}", response_model=InvoicePublic)
def remove_line(invoice_id: int, position: int, session: SessionDep, user: BillingStaff):
    return _draft_call(session, drafts.remove_line, invoice_id, position, user.actor)


@router.delete("/invoices/{invoice_id}", status_code=204)
def delete_draft(invoice_id: int, session: SessionDep, user: BillingStaff):
    try:
        drafts.delete_draft(session, invoice_id, user.actor)
    except InvoiceStateError as exc:
        _refused(session, exc)
    session.commit()
    return Response(status_code=204)


@router.get("/invoices", response_model=list[InvoicePublic])
def list_invoices(
    session: SessionDep,
    scope: TenantScope,
    user: AnyUser,
    customer_id: int | None = None,
    status: str | None = None,
    period: date | None = None,
    min_total: int | None = Query(default=None, ge=0, le=10**12),
    max_total: int | None = Query(default=None, ge=0, le=10**12),
    limit: int = Query(default=200, ge=1, le=1000),
):
    from noxus.billing.listing import InvoiceFilter, filtered

    f = InvoiceFilter(
        customer_id=customer_id, status=status, period=period, min_total=min_total, max_total=max_total
    )
    invoices = filtered(
        session, f, limit=min(limit, 1000), where=lambda q: scope.where(q, Invoice.customer_id)
    )
    return [_invoice_public(i) for i in invoices]


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic)
def get_invoice(invoice_id: int, session: SessionDep, scope: TenantScope, user: AnyUser):
    return _invoice_public(_invoice(session, invoice_id, scope))


@router.get("/invoices/{invoice_id}/lines", response_model=list[InvoiceLinePublic])
def get_lines(invoice_id: int, session: SessionDep, scope: TenantScope, user: AnyUser):
    _invoice(session, invoice_id, scope)
    return [InvoiceLinePublic.model_validate(ln) for ln in lines_of(session, invoice_id)]


@router.get("/invoices/{invoice_id}/pdf", response_class=Response)
def invoice_pdf(
    invoice_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: AnyUser
):
    inv = _invoice(session, invoice_id, scope)
    if inv.number is None:
        raise HTTPException(409, "a draft has no PDF: issue it first")
    doc = session.exec(
        select(Document).where(
            col(Document.invoice_id) == inv.id, col(Document.kind).in_(["invoice", "credit_note"])
        )
    ).first()
    pdf = doc.pdf if doc else issuing.render_invoice(session, inv, settings)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{inv.kind}-{inv.number}.pdf", "inline")},
    )


@router.get("/invoices/{invoice_id}/qrbill.svg", response_class=Response)
def invoice_qr_svg(
    invoice_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: AnyUser
):
    from noxus.billing.documents import qr_bill_svg

    inv = _invoice(session, invoice_id, scope)
    if inv.reference is None:
        raise HTTPException(409, "only an issued invoice has a QR-bill")
    return Response(
        qr_bill_svg(inv, issuing.profile_of(session, inv.customer_id), settings), media_type="image/svg+xml"
    )


@router.post("/invoices/{invoice_id}/credit-notes", response_model=InvoicePublic, status_code=201)
def credit_note(
    invoice_id: int, data: CreditNoteRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff
):
    """A full credit note (no amount: the invoice is voided if open) or a partial one (amount,
    VAT included), dated today, numbered NC-…, with its own PDF and e-mail."""
    inv = invoice_or_404(session, invoice_id)
    today = company_today(settings)
    try:
        if data.amount is None:
            note = credit(
                session,
                inv,
                issue_date=today,
                iban=settings.billing_iban,
                reason=data.reason,
                actor=user.actor,
            )
        else:
            note = credit_amount(
                session,
                inv,
                data.amount,
                issue_date=today,
                iban=settings.billing_iban,
                reason=data.reason,
                actor=user.actor,
            )
        issuing.issue(session, note, settings, user.actor)
    except InvoiceStateError as exc:
        _refused(session, exc, 422 if data.amount is not None and data.amount <= 0 else 409)
    dunning.refresh_customer(session, inv.customer_id, today, settings, user.actor)
    session.commit()
    return _invoice_public(note)


# --- payments --------------------------------------------------------------------------------------


@router.post("/payments", response_model=PaymentPublic, status_code=201)
def manual_payment(data: PaymentEntry, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    bank_ref = data.bank_ref or f"manual-{utcnow():%Y%m%d%H%M%S%f}"
    try:
        value_date = action_date(
            session,
            "a payment",
            data.value_date,
            reason=data.note,
            actor=user.actor,
            settings=settings,
            bank_ref=bank_ref,
        )
        payment = payments.record(
            session,
            bank_ref=bank_ref,
            amount=data.amount,
            value_date=value_date,
            source="manual",
            reference=data.reference,
            invoice_id=data.invoice_id,
            note=data.note,
            actor=user.actor,
        )
    except (payments.PaymentError, BusinessDateError) as exc:
        _refused(session, exc, 422)
    if payment is None:
        raise HTTPException(409, f"a payment with bank reference {bank_ref} already exists")
    session.commit()
    return PaymentPublic.model_validate(payment)


@router.post("/payments/camt054")
def import_camt(session: SessionDep, user: BillingStaff, file: Annotated[UploadFile, File()]):
    try:
        result = payments.import_camt054(session, file.file.read(), actor=user.actor)
    except camt.CamtError as exc:
        _refused(session, ValueError(f"{file.filename}: {exc}"), 422)
    session.commit()
    return {
        "new": result.new,
        "duplicates": result.duplicates,
        "matched": result.matched,
        "unmatched": result.unmatched,
        "skipped": result.skipped,
    }


@router.get("/payments/unmatched", response_model=list[PaymentPublic])
def unmatched(session: SessionDep, user: BillingStaff):
    return [PaymentPublic.model_validate(p) for p in payments.unmatched(session)]


@router.get("/payments/{payment_id}/suggestions", response_model=list[MatchSuggestionPublic])
def match_suggestions(payment_id: int, session: SessionDep, user: BillingStaff):
    try:
        found = payments.suggestions(session, payment_id)
    except payments.PaymentError as exc:
        raise HTTPException(404, str(exc)) from None
    return [
        MatchSuggestionPublic(
            invoice_id=id_of(s.invoice),
            number=s.invoice.number,
            customer_id=s.invoice.customer_id,
            balance=s.invoice.balance,
            score=s.score,
            reasons=s.reasons,
        )
        for s in found
    ]


@router.post("/payments/{payment_id}/assign", response_model=PaymentPublic)
def assign(payment_id: int, invoice_id: int, session: SessionDep, user: BillingStaff):
    try:
        payment = payments.assign(session, payment_id, invoice_id, user.actor)
    except payments.PaymentError as exc:
        _refused(session, exc)
    session.commit()
    return PaymentPublic.model_validate(session.get(Payment, payment.id))


# --- dunning and retrieval -------------------------------------------------------------------------


@router.post("/dunning/run")
def run_dunning(data: DunningRequest, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    """Reminders, suspensions, §7.6 cases due today (a past day only with a reason; never a future one)."""
    try:
        r = dunning.run_dunning(session, data.day, settings, user.actor, reason=data.reason)
    except BusinessDateError as exc:
        _refused(session, exc, 422)
    return {
        "reminders": len(r.reminders),
        "suspended": r.suspended,
        "retrieval_cases": r.retrieval_cases,
        "cleared": r.cleared,
    }


@router.get("/retrieval-cases", response_model=list[RetrievalCasePublic])
def list_cases(session: SessionDep, user: BillingStaff):
    return [
        RetrievalCasePublic.model_validate(c)
        for c in session.exec(select(RetrievalCase).order_by(col(RetrievalCase.id).desc()))
    ]


def _case_call(session, fn, *args) -> RetrievalCasePublic:
    try:
        case = fn(session, *args)
    except (retrieval.RetrievalError, ValueError) as exc:
        _refused(session, exc)
    session.commit()
    return RetrievalCasePublic.model_validate(case)


@router.post("/retrieval-cases/{case_id}/notice-sent", response_model=RetrievalCasePublic)
def notice_sent(
    case_id: int, data: NoticeSent, session: SessionDep, settings: SettingsDep, user: BillingStaff
):
    return _case_call(
        session,
        retrieval.record_notice_sent,
        case_id,
        data.sent_at,
        data.channel,
        user.actor,
        data.reason,
        settings,
    )


@router.post("/retrieval-cases/{case_id}/visit", response_model=RetrievalCasePublic)
def schedule(case_id: int, data: VisitSchedule, session: SessionDep, user: BillingStaff):
    return _case_call(session, retrieval.schedule_visit, case_id, data.start, data.end, user.actor)


@router.post("/retrieval-cases/{case_id}/kiosks/{kiosk_id}/retrieved", response_model=RetrievalCasePublic)
def kiosk_retrieved(case_id: int, kiosk_id: str, session: SessionDep, user: TechStaff):
    return _case_call(session, retrieval.mark_retrieved, case_id, kiosk_id, user.actor)
