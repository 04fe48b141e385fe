"""Billing set-up pages: plans and their dated price list versions (/billing/plans), contracts
and their kiosks (/billing/contracts), a customer's billing profile (/billing/profiles/{id}).

Thin handlers over the same models and services as the JSON API (billing/router.py). Each form
is validated with its Create schema (`noxus.web.forms.validate_form`): one message per field, what
was typed kept on the 422 re-render. Amounts are typed in CHF as people type them ("1'234.50",
"1234,50") and stored in centimes. Creating a contract, a billing profile, adding or removing a
kiosk changes a customer's state: each goes through the confirmation page first. The billing
profile starts from the customer's record (tenancy holds the identity, docs/billing.md); a
contract for a customer without a profile creates it from that record when it is complete."""

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from noxus.billing import audit
from noxus.billing.contracts import ContractError, attach_kiosk, detach_kiosk, kiosks_of
from noxus.billing.dates import company_today
from noxus.billing.models import (
    BillingProfile,
    BillingProfileCreate,
    Contract,
    ContractCreate,
    Plan,
    PlanVersion,
    PlanVersionCreate,
)
from noxus.billing.pages import _back, _confirm, _page
from noxus.billing.pricing import PricingError, plan_version_on
from noxus.billing.schemas import ContractKioskChange, PlanSetupCreate, PriceVersionForm
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import format_chf, format_date
from noxus.core.i18n import gettext as _
from noxus.core.security import BillingStaff
from noxus.core.types import id_of
from noxus.tenancy.models import Customer
from noxus.web.forms import validate_form

router = APIRouter(prefix="/billing", include_in_schema=False)
OptStr = Annotated[str, Form()]
PRICE_FIELDS = (
    "effective_from",
    "monthly_fee",
    "monthly_fee_per_kiosk",
    "users_included",
    "price_per_additional_user",
    "setup_fee",
)


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}


def _customer(session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise HTTPException(404, _("Customer %(id)s does not exist.", id=customer_id))
    return customer


def _customer_day(customer: Customer, settings) -> date:
    """The day the customer was created, in the company zone (no contract starts before)."""
    return customer.created_at.astimezone(ZoneInfo(settings.timezone)).date()


# --- plans and price list versions -----------------------------------------------------------------


def _plans_page(request, session, settings, user, values=None, errors=None, status=200, version_for=None):
    today = company_today(settings)
    rows = []
    for plan in session.exec(select(Plan).order_by(col(Plan.code))):
        try:
            current = plan_version_on(session, plan.id, today)
        except PricingError:
            current = None
        versions = session.exec(
            select(PlanVersion)
            .where(PlanVersion.plan_id == plan.id)
            .order_by(col(PlanVersion.effective_from).desc())
        ).all()
        rows.append((plan, current, versions))
    return _page(
        request,
        user,
        "billing_setup_plans.html",
        status_code=status,
        rows=rows,
        values=values or {},
        errors=errors or {},
        version_for=version_for,
    )


@router.get("/plans", response_class=HTMLResponse)
def plans(request: Request, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    return _plans_page(request, session, settings, user)


@router.post("/plans", response_class=HTMLResponse)
async def create_plan(request: Request, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    values = await _form(request)
    data, errors = validate_form(PlanSetupCreate, values)
    if data is not None and session.exec(select(Plan).where(Plan.code == data.code.strip())).first():
        errors = {"code": _("A plan with this code exists already.")}
    if errors or data is None:
        return _plans_page(request, session, settings, user, values, errors, 422)
    plan = Plan(code=data.code.strip(), name=data.name.strip())
    session.add(plan)
    session.flush()
    session.add(
        PlanVersion.model_validate(
            PlanVersionCreate(plan_id=id_of(plan), **data.model_dump(include=set(PRICE_FIELDS)))
        )
    )
    audit.record(session, "plan.created", actor=user.actor, plan_id=plan.id, code=plan.code)
    session.commit()
    return _back("/billing/plans", msg=_("Plan %(code)s created.", code=plan.code))


@router.post("/plans/{plan_id}/versions", response_class=HTMLResponse)
async def add_version(
    request: Request, plan_id: int, session: SessionDep, settings: SettingsDep, user: BillingStaff
):
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise HTTPException(404, _("Plan %(id)s does not exist.", id=plan_id))
    values = await _form(request)
    data, errors = validate_form(PriceVersionForm, values)
    if (
        data is not None
        and session.exec(
            select(PlanVersion).where(
                PlanVersion.plan_id == plan_id, PlanVersion.effective_from == data.effective_from
            )
        ).first()
    ):
        errors = {"effective_from": _("This plan has a price version from this date already.")}
    if errors or data is None:
        return _plans_page(request, session, settings, user, values, errors, 422, version_for=plan_id)
    session.add(PlanVersion.model_validate(PlanVersionCreate(plan_id=plan_id, **data.model_dump())))
    audit.record(
        session,
        "plan.version_added",
        actor=user.actor,
        plan_id=plan_id,
        effective_from=data.effective_from.isoformat(),
    )
    session.commit()
    return _back(
        "/billing/plans",
        msg=_("Prices of %(code)s from %(d)s saved.", code=plan.code, d=format_date(data.effective_from)),
    )


# --- billing profile -----------------------------------------------------------------------------


def profile_from_customer(customer: Customer) -> dict[str, str]:
    """The profile's fields as the customer's record gives them (the form's starting values)."""
    return {
        "customer_id": str(customer.id),
        "legal_name": customer.legal_name or customer.name[:70],
        "street": customer.street,
        "house_num": customer.house_num,
        "postcode": customer.postcode,
        "town": customer.town,
        "country": customer.country or "CH",
        "invoice_email": customer.contact_email,
        "language": customer.language,
        "contact_name": customer.contact_name,
        "contact_email": customer.contact_email,
        "contact_street": customer.street,
        "contact_house_num": customer.house_num,
        "contact_postcode": customer.postcode,
        "contact_town": customer.town,
        "contact_country": customer.country or "CH",
    }


def _profile_of(session, customer_id: int) -> BillingProfile | None:
    return session.exec(select(BillingProfile).where(BillingProfile.customer_id == customer_id)).first()


def _profile_page(request, session, user, customer, values=None, errors=None, status=200):
    profile = _profile_of(session, customer.id)
    if values is None:
        values = (
            {k: str(getattr(profile, k) or "") for k in BillingProfileCreate.model_fields}
            if profile
            else profile_from_customer(customer)
        )
    return _page(
        request,
        user,
        "billing_setup_profile.html",
        status_code=status,
        customer=customer,
        profile=profile,
        values=values,
        errors=errors or {},
    )


@router.get("/profiles/{customer_id}", response_class=HTMLResponse)
def profile(request: Request, customer_id: int, session: SessionDep, user: BillingStaff):
    return _profile_page(request, session, user, _customer(session, customer_id))


@router.post("/profiles/{customer_id}", response_class=HTMLResponse)
async def save_profile(request: Request, customer_id: int, session: SessionDep, user: BillingStaff):
    customer = _customer(session, customer_id)
    values = await _form(request)
    confirmed = values.pop("confirmed", "")
    values["customer_id"] = str(customer_id)
    values.setdefault("language", customer.language)
    data, errors = validate_form(BillingProfileCreate, values)
    if errors or data is None:
        return _profile_page(request, session, user, customer, values, errors, 422)
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Billing profile of %(c)s", c=customer.name),
            [
                _(
                    "Invoices are addressed to %(n)s, %(t)s and e-mailed to %(e)s.",
                    n=data.legal_name,
                    t=data.town,
                    e=data.invoice_email,
                ),
                _("Notices about kiosks go to %(n)s (%(e)s).", n=data.contact_name, e=data.contact_email),
            ],
            f"/billing/profiles/{customer_id}",
            values,
        )
    existing = _profile_of(session, customer_id)
    if existing is None:
        session.add(BillingProfile.model_validate(data))
    else:
        existing.sqlmodel_update(data.model_dump())
        session.add(existing)
    audit.record(session, "profile.saved", actor=user.actor, customer_id=customer_id)
    session.commit()
    return _back(f"/billing/profiles/{customer_id}", msg=_("Billing profile saved."))


# --- contracts ---------------------------------------------------------------------------------------


def _choices(session):
    customers = session.exec(
        select(Customer).where(col(Customer.archived_at).is_(None)).order_by(col(Customer.name))
    ).all()
    plans_ = session.exec(select(Plan).order_by(col(Plan.code))).all()
    return [(c.id, c.name) for c in customers], [(p.id, f"{p.code} — {p.name}") for p in plans_]


def _contracts_page(request, session, user, values=None, errors=None, status=200):
    customers, plans_ = _choices(session)
    contracts = session.exec(select(Contract).order_by(col(Contract.customer_id), col(Contract.id))).all()
    names = {c.id: c.name for c in session.exec(select(Customer))}
    codes = {p.id: p.code for p in session.exec(select(Plan))}
    with_profile = set(session.exec(select(BillingProfile.customer_id)))
    return _page(
        request,
        user,
        "billing_setup_contracts.html",
        status_code=status,
        contracts=contracts,
        customers=customers,
        plans=plans_,
        names=names,
        codes=codes,
        with_profile=with_profile,
        values=values or {},
        errors=errors or {},
    )


@router.get("/contracts", response_class=HTMLResponse)
def contracts(request: Request, session: SessionDep, user: BillingStaff, customer_id: str = ""):
    return _contracts_page(request, session, user, values={"customer_id": customer_id} if customer_id else {})


@router.post("/contracts", response_class=HTMLResponse)
async def create_contract(request: Request, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    values = await _form(request)
    confirmed = values.pop("confirmed", "")
    data, errors = validate_form(ContractCreate, values)
    if data is None:
        return _contracts_page(request, session, user, values, errors, 422)
    customer, plan = session.get(Customer, data.customer_id), session.get(Plan, data.plan_id)
    if customer is None:
        errors["customer_id"] = _("Choose one of the proposed values.")
    if plan is None:
        errors["plan_id"] = _("Choose one of the proposed values.")
    if customer is not None and data.start_date < _customer_day(customer, settings):
        errors["start_date"] = _(
            "The customer exists since %(d)s: a contract cannot start before.",
            d=format_date(_customer_day(customer, settings)),
        )
    new_profile = None
    if customer is not None and not errors and _profile_of(session, id_of(customer)) is None:
        new_profile, profile_errors = validate_form(BillingProfileCreate, profile_from_customer(customer))
        if profile_errors:
            errors["customer_id"] = _(
                "This customer's record lacks what invoicing needs (address, e-mail): "
                "complete its billing profile first."
            )
    prices = None
    if plan is not None and not errors:
        try:
            prices = plan_version_on(session, id_of(plan), data.start_date)
        except PricingError:
            errors["start_date"] = _(
                "Plan %(code)s has no prices in force on this date: add a price version first.",
                code=plan.code,
            )
    if errors or customer is None or plan is None or prices is None:
        return _contracts_page(request, session, user, values, errors, 422)
    if not confirmed:
        consequences = [
            _(
                "%(c)s is billed plan %(p)s from %(d)s: %(fee)s a month, %(kiosk)s per kiosk, set-up fee %(setup)s.",
                c=customer.name,
                p=plan.code,
                d=format_date(data.start_date),
                fee=format_chf(prices.monthly_fee),
                kiosk=format_chf(prices.monthly_fee_per_kiosk),
                setup=format_chf(prices.setup_fee),
            ),
            _(
                "Initial term %(i)s months, renewed by %(r)s months unless notice is given %(n)s months ahead.",
                i=data.initial_term_months,
                r=data.renewal_term_months,
                n=data.notice_months,
            ),
        ]
        if new_profile is not None:
            consequences.append(
                _(
                    "Its billing profile is created from the customer's record (invoices to %(e)s).",
                    e=new_profile.invoice_email,
                )
            )
        return _confirm(
            request,
            user,
            _("New contract for %(c)s", c=customer.name),
            consequences,
            "/billing/contracts",
            values,
        )
    if new_profile is not None:
        session.add(BillingProfile.model_validate(new_profile))
    contract = Contract.model_validate(data)
    session.add(contract)
    session.flush()
    audit.record(
        session,
        "contract.created",
        actor=user.actor,
        customer_id=contract.customer_id,
        contract_id=contract.id,
        plan_id=contract.plan_id,
        start_date=contract.start_date.isoformat(),
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _back(
            "/billing/contracts", err=_("The contract could not be saved: reload the page and retry.")
        )
    return _back(f"/billing/contracts/{contract.id}", msg=_("Contract %(id)s created.", id=contract.id))


def _contract(session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise HTTPException(404, _("Contract %(id)s does not exist.", id=contract_id))
    return contract


def _contract_page(request, session, user, contract, values=None, errors=None, status=200):
    from noxus.fleet.retrieval import kiosks_at_customer

    rows = kiosks_of(session, contract.id)
    attached = {r.kiosk_id for r in rows if r.detached_on is None}
    free = [
        (k.id, f"{k.id} — {k.name}")
        for k in kiosks_at_customer(session, contract.customer_id)
        if k.id not in attached
    ]
    return _page(
        request,
        user,
        "billing_setup_contract.html",
        status_code=status,
        contract=contract,
        customer=session.get(Customer, contract.customer_id),
        plan=session.get(Plan, contract.plan_id),
        rows=rows,
        free=free,
        values=values or {},
        errors=errors or {},
    )


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract_detail(request: Request, contract_id: int, session: SessionDep, user: BillingStaff):
    return _contract_page(request, session, user, _contract(session, contract_id))


@router.post("/contracts/{contract_id}/kiosks", response_class=HTMLResponse)
async def add_kiosk(request: Request, contract_id: int, session: SessionDep, user: BillingStaff):
    contract = _contract(session, contract_id)
    values = await _form(request)
    confirmed = values.pop("confirmed", "")
    data, errors = validate_form(ContractKioskChange, values)
    if data is not None and data.on < contract.start_date:
        errors["on"] = _(
            "The contract starts on %(d)s: a kiosk cannot join it before.", d=format_date(contract.start_date)
        )
    if errors or data is None:
        return _contract_page(request, session, user, contract, values, errors, 422)
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Add kiosk %(k)s to contract %(id)s", k=data.kiosk_id, id=contract.id),
            [
                _("The per-kiosk fee is billed from %(d)s.", d=format_date(data.on)),
                _("At the end of the contract the kiosk must be given back."),
            ],
            f"/billing/contracts/{contract_id}/kiosks",
            values,
        )
    try:
        attach_kiosk(session, contract, data.kiosk_id, data.on, user.actor)
    except ContractError as exc:
        session.rollback()
        return _contract_page(request, session, user, contract, values, {"kiosk_id": str(exc)}, 422)
    session.commit()
    return _back(f"/billing/contracts/{contract_id}", msg=_("Kiosk %(k)s added.", k=data.kiosk_id))


@router.post("/contracts/{contract_id}/kiosks/{kiosk_id}/detach", response_class=HTMLResponse)
async def remove_kiosk(
    request: Request, contract_id: int, kiosk_id: str, session: SessionDep, user: BillingStaff
):
    contract = _contract(session, contract_id)
    values = await _form(request)
    confirmed = values.pop("confirmed", "")
    values["kiosk_id"] = kiosk_id
    data, errors = validate_form(ContractKioskChange, values)
    if errors or data is None:
        return _contract_page(
            request, session, user, contract, {}, {f"detach_{kiosk_id}": next(iter(errors.values()))}, 422
        )
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Remove kiosk %(k)s from contract %(id)s", k=kiosk_id, id=contract.id),
            [
                _(
                    "%(d)s is its last day on the contract; its fee stops after that month.",
                    d=format_date(data.on),
                )
            ],
            f"/billing/contracts/{contract_id}/kiosks/{kiosk_id}/detach",
            values,
        )
    try:
        detach_kiosk(session, contract, kiosk_id, data.on, user.actor)
    except ContractError as exc:
        session.rollback()
        return _contract_page(request, session, user, contract, {}, {f"detach_{kiosk_id}": str(exc)}, 422)
    session.commit()
    return _back(f"/billing/contracts/{contract_id}", msg=_("Kiosk %(k)s removed.", k=kiosk_id))
