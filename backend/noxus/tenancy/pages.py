"""Staff pages of tenancy: customers (list with search, state and balance; create, edit, archive)
and their sites. Forms post back; on a mistake the page comes again with what was typed and one
message per field (noxus.web.forms), in the page's language; on success POST/redirect/GET."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from noxus.core.deps import SessionDep
from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.core.security import BillingStaff, Principal, Role, Scope, StaffOnly, TenantScope, require_roles
from noxus.core.types import id_of
from noxus.tenancy import cantons, service
from noxus.tenancy.models import Customer, CustomerCreate, CustomerUpdate, Site, SiteCreate, SiteUpdate
from noxus.tenancy.service import TenancyError
from noxus.web.errors import PageError
from noxus.web.forms import validate_form
from noxus.web.templating import render_page

router = APIRouter(include_in_schema=False)
SITE_WRITERS = frozenset({Role.ADMIN, Role.BILLING, Role.TECHNICIAN})
CUSTOMER_WRITERS = frozenset({Role.ADMIN, Role.BILLING})
SiteWriter = Annotated[Principal, Depends(require_roles(*SITE_WRITERS))]

# what a redirect may say (?msg=key): never text from the address bar
MESSAGES = {
    "created": lazy_gettext("The customer was created."),
    "saved": lazy_gettext("Changes saved."),
    "archived": lazy_gettext("The customer was archived."),
    "restored": lazy_gettext("The customer was restored."),
    "site_created": lazy_gettext("The site was created."),
    "site_saved": lazy_gettext("The site was saved."),
}
CUSTOMER_FIELDS = (
    "name",
    "legal_name",
    "vat_number",
    "street",
    "house_num",
    "postcode",
    "town",
    "country",
    "contact_name",
    "contact_email",
    "contact_phone",
    "language",
    "canton",
)
SITE_FIELDS = ("name", "address", "canton", "timezone")


def _render(request: Request, name: str, user: Principal, status_code: int = 200, **ctx) -> HTMLResponse:
    return render_page(
        request,
        name,
        user,
        MESSAGES,
        status_code,
        cantons=cantons.CANTONS,
        canton_options=[(code, f"{code} — {name}") for code, name in cantons.CANTONS.items()],
        state_label=service.account_state_label,
        can_write=user.role in CUSTOMER_WRITERS,
        can_write_sites=user.role in SITE_WRITERS,
        **ctx,
    )


def _not_found(e: TenancyError) -> HTTPException:
    return HTTPException(e.status, detail=PageError(str(e)))


def _customer(session: Session, scope: Scope, customer_id: int) -> Customer:
    try:
        return service.get_customer(session, scope, customer_id)
    except TenancyError as e:
        raise _not_found(e) from None


def _site(session: Session, scope: Scope, site_id: int) -> Site:
    try:
        return service.get_site(session, scope, site_id)
    except TenancyError as e:
        raise _not_found(e) from None


def _form(data: Any, fields: tuple[str, ...]) -> dict[str, str]:
    return {k: str(data.get(k, "")) for k in fields}


def _values(row: Customer | Site, fields: tuple[str, ...]) -> dict[str, str]:
    return {k: "" if getattr(row, k) is None else str(getattr(row, k)) for k in fields}


async def _submit(
    request: Request,
    session: Session,
    user: Principal,
    schema: type[BaseModel],
    save: Callable[[Any], str],
    page: tuple[str, tuple[str, ...]],
    fixed: dict[str, Any] | None = None,
    **ctx: Any,
) -> Response:
    """A form post: validated by `schema` (with `fixed` values the form may not change), saved by
    `save(data)`, which returns where to go; any refusal comes back on the form `page`
    (template, fields) with what was typed and one message per field."""
    form = await request.form()
    data, errors = validate_form(schema, {**form, **(fixed or {})})
    if data is not None:
        try:
            target = save(data)
            session.commit()
            return RedirectResponse(target, status_code=303)
        except TenancyError as e:
            session.rollback()
            errors = {e.field or "__all__": str(e)}
    template, fields = page
    return _render(request, template, user, 422, values=_form(form, fields), errors=errors, **ctx)


CUSTOMER_FORM = ("tenancy_customer_form.html", CUSTOMER_FIELDS)
SITE_FORM = ("tenancy_site_form.html", SITE_FIELDS)


# --- customers -----------------------------------------------------------------------------------


@router.get("/customers", response_class=HTMLResponse)
def customers_page(
    request: Request,
    session: SessionDep,
    scope: TenantScope,
    user: StaffOnly,
    q: str = "",
    archived: bool = False,
):
    rows = service.list_customers_with_accounts(session, scope, q, archived)
    return _render(request, "tenancy_customers.html", user, customers=rows, q=q, archived=archived)


@router.get("/customers/new", response_class=HTMLResponse)
def customer_new(request: Request, user: BillingStaff):
    return _render(
        request, "tenancy_customer_form.html", user, customer=None, values={"country": "CH"}, errors={}
    )


@router.post("/customers/new", response_class=HTMLResponse)
async def customer_create(request: Request, session: SessionDep, user: BillingStaff) -> Response:
    def save(data: CustomerCreate) -> str:
        return f"/customers/{id_of(service.create_customer(session, data, user.actor))}?msg=created"

    return await _submit(request, session, user, CustomerCreate, save, CUSTOMER_FORM, customer=None)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: StaffOnly
):
    customer = _customer(session, scope, customer_id)
    return _render(
        request,
        "tenancy_customer.html",
        user,
        customer=customer,
        account=service.account(session, customer),
        sites=service.list_sites(session, scope, customer.id),
    )


@router.get("/customers/{customer_id}/edit", response_class=HTMLResponse)
def customer_edit(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: BillingStaff
):
    customer = _customer(session, scope, customer_id)
    values = _values(customer, CUSTOMER_FIELDS)
    return _render(request, "tenancy_customer_form.html", user, customer=customer, values=values, errors={})


@router.post("/customers/{customer_id}/edit", response_class=HTMLResponse)
async def customer_save(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: BillingStaff
) -> Response:
    customer = _customer(session, scope, customer_id)

    def save(data: CustomerCreate) -> str:
        # an edit form sends every field: required ones must stay filled, so it validates as a creation
        update = CustomerUpdate.model_validate(data.model_dump())
        update.vat_number = data.vat_number  # an emptied UID is removed
        service.update_customer(session, customer, update, user.actor)
        return f"/customers/{customer.id}?msg=saved"

    return await _submit(request, session, user, CustomerCreate, save, CUSTOMER_FORM, customer=customer)


def _confirm(request: Request, user: Principal, customer: Customer, action: str) -> HTMLResponse:
    if action == "archive":
        title = _("Archive customer %(name)s?", name=customer.name)
        text = _(
            "The customer leaves the lists and pickers. Nothing is deleted: invoices, punches and "
            "the audit trail stay, and you can restore it at any time."
        )
        button = _("Archive")
    else:
        title = _("Restore customer %(name)s?", name=customer.name)
        text = _("The customer comes back into the lists and pickers.")
        button = _("Restore")
    return _render(
        request,
        "confirm.html",
        user,
        title=title,
        text=text,
        button=button,
        action=f"/customers/{customer.id}/{action}",
        cancel=f"/customers/{customer.id}",
    )


def _set_archived(session: Session, scope: Scope, user: Principal, customer_id: int, archived: bool):
    service.set_archived(session, _customer(session, scope, customer_id), archived, user.actor)
    session.commit()
    msg = "archived" if archived else "restored"
    return RedirectResponse(f"/customers/{customer_id}?msg={msg}", status_code=303)


@router.get("/customers/{customer_id}/archive", response_class=HTMLResponse)
def customer_archive_confirm(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: BillingStaff
):
    return _confirm(request, user, _customer(session, scope, customer_id), "archive")


@router.post("/customers/{customer_id}/archive")
def customer_archive(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    return _set_archived(session, scope, user, customer_id, True)


@router.get("/customers/{customer_id}/restore", response_class=HTMLResponse)
def customer_restore_confirm(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: BillingStaff
):
    return _confirm(request, user, _customer(session, scope, customer_id), "restore")


@router.post("/customers/{customer_id}/restore")
def customer_restore(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    return _set_archived(session, scope, user, customer_id, False)


# --- sites ---------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/sites/new", response_class=HTMLResponse)
def site_new(customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: SiteWriter):
    customer = _customer(session, scope, customer_id)
    return _render(
        request,
        "tenancy_site_form.html",
        user,
        customer=customer,
        site=None,
        values={"timezone": "Europe/Zurich", "canton": ""},
        errors={},
    )


@router.post("/customers/{customer_id}/sites/new", response_class=HTMLResponse)
async def site_create(
    customer_id: int, request: Request, session: SessionDep, scope: TenantScope, user: SiteWriter
) -> Response:
    customer = _customer(session, scope, customer_id)

    def save(data: SiteCreate) -> str:
        service.create_site(session, scope, data, user.actor)
        return f"/customers/{customer.id}?msg=site_created"

    fixed = {"customer_id": customer.id}
    return await _submit(
        request, session, user, SiteCreate, save, SITE_FORM, fixed, customer=customer, site=None
    )


@router.get("/sites/{site_id}/edit", response_class=HTMLResponse)
def site_edit(site_id: int, request: Request, session: SessionDep, scope: TenantScope, user: SiteWriter):
    site = _site(session, scope, site_id)
    return _render(
        request,
        "tenancy_site_form.html",
        user,
        customer=_customer(session, scope, site.customer_id),
        site=site,
        values=_values(site, SITE_FIELDS),
        errors={},
    )


@router.post("/sites/{site_id}/edit", response_class=HTMLResponse)
async def site_save(
    site_id: int, request: Request, session: SessionDep, scope: TenantScope, user: SiteWriter
) -> Response:
    site = _site(session, scope, site_id)
    customer = _customer(session, scope, site.customer_id)

    def save(data: SiteCreate) -> str:
        update = SiteUpdate.model_validate(data.model_dump(exclude={"customer_id"}))
        service.update_site(session, site, update, user.actor)
        return f"/customers/{customer.id}?msg=site_saved"

    fixed = {"customer_id": site.customer_id}
    return await _submit(
        request, session, user, SiteCreate, save, SITE_FORM, fixed, customer=customer, site=site
    )
