"""Pages to manage people: the users list, inviting someone, changing a role or language,
disabling and enabling, sending a new invitation; the invitation link (set your password) and
each person's own settings (/account). Anything that sends mail or takes access away asks for a
confirmation first."""

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import field_validator
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.main import SQLModelConfig

from noxus.auth.invitations import (
    ROLE_NAMES,
    InvitationError,
    UserManager,
    check_grant,
    grantable_roles,
    invite,
    send_invitation,
    visible,
)
from noxus.auth.schemas import UserInvite
from noxus.core import accounts
from noxus.core.audit import record as audit
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import LANGUAGES, lazy_gettext
from noxus.core.i18n import gettext as _
from noxus.core.security import (
    CUSTOMER_ROLES,
    AnyUser,
    Principal,
    Public,
    Role,
    Scope,
    TenantScope,
)
from noxus.core.users import Invitation, User
from noxus.tenancy.models import Customer
from noxus.web.errors import PageError
from noxus.web.forms import validate_form
from noxus.web.templating import render_page, templates

router = APIRouter(include_in_schema=False)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MESSAGES = {
    "invited": lazy_gettext("The invitation was sent."),
    "saved": lazy_gettext("Changes saved."),
    "disabled": lazy_gettext("The user was disabled: their sessions and tokens stopped working."),
    "enabled": lazy_gettext("The user was enabled."),
    "password_set": lazy_gettext("Your password is set: log in."),
}


def _check_language(v):
    if v is not None and v not in LANGUAGES:
        raise ValueError(_("Choose one of the proposed values."))
    return v


class InviteForm(UserInvite):
    """The API's invitation as the web form takes it: messages for people, in their language
    (the validators keep the API's names, so they replace its English ones)."""

    email: str = Field(min_length=1, max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, v):
        if not EMAIL.match(v) or len(v) > 120:
            raise ValueError(_("Not an e-mail address (name@example.ch)."))
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        return _check_language(v)


class UserEditForm(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    language: str | None = None
    _lang = field_validator("language")(_check_language)


class PasswordForm(SQLModel):
    password: str = Field(min_length=12, max_length=256)
    password_again: str = Field(min_length=1, max_length=256)


class AccountForm(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)
    full_name: str = Field(min_length=1, max_length=200)
    language: str | None = None
    _lang = field_validator("language")(_check_language)


def _user(session, scope, actor, user_id: int) -> User:
    u = session.get(User, user_id)
    if u is None or not visible(scope, actor, u):
        raise HTTPException(404, detail=PageError(_("This user does not exist.")))
    return u


def _customers(session, scope: Scope) -> list[Customer]:
    stmt = (
        scope.where(select(Customer), Customer.id)
        .where(col(Customer.archived_at).is_(None))
        .order_by(Customer.name)
    )
    return list(session.exec(stmt))


def _render(request: Request, name: str, user: Principal, status_code: int = 200, **ctx) -> HTMLResponse:
    role_names = {r.value: str(n) for r, n in ROLE_NAMES.items()}
    return render_page(request, name, user, MESSAGES, status_code, role_names=role_names, **ctx)


def _role_options(actor: Principal):
    return [(r.value, str(ROLE_NAMES[r])) for r in grantable_roles(actor)]


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    scope: TenantScope,
    actor: UserManager,
    customer_id: int | None = None,
):
    stmt = select(User).order_by(col(User.customer_id), col(User.username))
    if customer_id is not None:
        scope.check(customer_id, "customer")
        stmt = stmt.where(User.customer_id == customer_id)
    users = [u for u in session.exec(stmt) if visible(scope, actor, u)]
    names = {c.id: c.name for c in session.exec(scope.where(select(Customer), Customer.id))}
    return _render(request, "users.html", actor, users=users, customer_names=names, customer_id=customer_id)


def _invite_ctx(session, scope, actor, values, errors):
    return {
        "values": values,
        "errors": errors,
        "role_options": _role_options(actor),
        "customer_options": [(str(c.id), c.name) for c in _customers(session, scope)],
        "own_customer": scope.own_customer_id,
    }


@router.get("/users/new", response_class=HTMLResponse)
def user_new(
    request: Request,
    session: SessionDep,
    scope: TenantScope,
    actor: UserManager,
    customer_id: int | None = None,
):
    values = {"customer_id": str(customer_id) if customer_id else ""}
    return _render(request, "user_invite.html", actor, **_invite_ctx(session, scope, actor, values, {}))


@router.post("/users/new", response_class=HTMLResponse)
async def user_invite(
    request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope, actor: UserManager
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("email", "full_name", "role", "customer_id", "language")}
    if scope.own_customer_id is not None:
        values["customer_id"] = str(scope.own_customer_id)
    data, errors = validate_form(InviteForm, values)
    if data is not None:
        try:
            check_grant(actor, scope, data.role, data.customer_id)
            if accounts.get_user(session, data.email) is not None:
                raise InvitationError(
                    _("A user %(name)s already exists.", name=data.email.lower()), field="email"
                )
            if form.get("confirmed") != "yes":
                # confirmation first: this sends an e-mail
                return _render(
                    request,
                    "confirm.html",
                    actor,
                    title=_("Send the invitation?"),
                    text=_(
                        "An e-mail with a one-time link to set a password goes to %(email)s (%(role)s).",
                        email=data.email,
                        role=str(ROLE_NAMES[data.role]),
                    ),
                    button=_("Send the invitation"),
                    action="/users/new",
                    cancel="/users",
                    hidden={**values, "confirmed": "yes"},
                )
            u = invite(session, settings, actor, scope, **data.model_dump())
            session.commit()
            return RedirectResponse(f"/users/{u.id}?msg=invited", status_code=303)
        except InvitationError as e:
            session.rollback()
            errors = {e.field or "__all__": str(e)}
    return _render(
        request, "user_invite.html", actor, 422, **_invite_ctx(session, scope, actor, values, errors)
    )


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(user_id: int, request: Request, session: SessionDep, scope: TenantScope, actor: UserManager):
    u = _user(session, scope, actor, user_id)
    values = {"full_name": u.full_name, "role": u.role, "language": u.language or ""}
    return _render(
        request,
        "user_edit.html",
        actor,
        u=u,
        values=values,
        errors={},
        role_options=_role_options(actor) if Role(u.role) in grantable_roles(actor) else [],
        customer=session.get(Customer, u.customer_id) if u.customer_id else None,
    )


@router.post("/users/{user_id}", response_class=HTMLResponse)
async def user_save(
    user_id: int, request: Request, session: SessionDep, scope: TenantScope, actor: UserManager
) -> Response:
    u = _user(session, scope, actor, user_id)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("full_name", "role", "language")}
    data, errors = validate_form(UserEditForm, values)
    if data is not None:
        try:
            if data.role.value != u.role:
                if Role(u.role) not in grantable_roles(actor):
                    raise InvitationError(_("Your role may not change this user's role."), field="role")
                check_grant(actor, scope, data.role, u.customer_id)
                if (data.role in CUSTOMER_ROLES) != (Role(u.role) in CUSTOMER_ROLES):
                    raise InvitationError(
                        _(
                            "A user cannot move between NOXUS staff and a customer: invite a "
                            "new user instead."
                        ),
                        field="role",
                    )
            changes = {}
            for key, new in (
                ("full_name", data.full_name),
                ("role", data.role.value),
                ("language", data.language),
            ):
                if getattr(u, key) != new:
                    changes[key] = [getattr(u, key), new]
                    setattr(u, key, new)
            if "role" in changes:
                accounts.revoke_all_credentials(session, u)  # a changed right takes effect now
            session.add(u)
            if changes:
                audit(session, actor.actor, "update", "user", u.id, u.customer_id, changes)
            session.commit()
            return RedirectResponse(f"/users/{u.id}?msg=saved", status_code=303)
        except InvitationError as e:
            session.rollback()
            errors = {e.field or "__all__": str(e)}
    return _render(
        request,
        "user_edit.html",
        actor,
        422,
        u=u,
        values=values,
        errors=errors,
        role_options=_role_options(actor),
        customer=session.get(Customer, u.customer_id) if u.customer_id else None,
    )


ACTIONS = {
    "disable": (
        lazy_gettext("Disable %(name)s?"),
        lazy_gettext("The person can no longer log in; their sessions and API tokens stop working at once."),
        lazy_gettext("Disable"),
    ),
    "enable": (
        lazy_gettext("Enable %(name)s?"),
        lazy_gettext("The person can log in again."),
        lazy_gettext("Enable"),
    ),
    "invite": (
        lazy_gettext("Send a new invitation to %(name)s?"),
        lazy_gettext(
            "An e-mail with a new one-time link to set a password goes out; older links stop working."
        ),
        lazy_gettext("Send the invitation"),
    ),
}


@router.get("/users/{user_id}/{action}", response_class=HTMLResponse)
def user_action_confirm(
    user_id: int, action: str, request: Request, session: SessionDep, scope: TenantScope, actor: UserManager
):
    u = _user(session, scope, actor, user_id)
    if action not in ACTIONS:
        raise HTTPException(404)
    title, text, button = ACTIONS[action]
    return _render(
        request,
        "confirm.html",
        actor,
        title=str(title) % {"name": u.username},
        text=str(text),
        button=str(button),
        action=f"/users/{u.id}/{action}",
        cancel=f"/users/{u.id}",
    )


@router.post("/users/{user_id}/{action}")
def user_action(
    user_id: int,
    action: str,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    actor: UserManager,
):
    u = _user(session, scope, actor, user_id)
    if action not in ACTIONS:
        raise HTTPException(404)
    if Role(u.role) not in grantable_roles(actor):
        raise HTTPException(403, detail=PageError(_("Your role may not change this user.")))
    if u.id == actor.user_id and action == "disable":
        raise HTTPException(409, detail=PageError(_("You cannot disable yourself.")))
    if action == "invite":
        try:
            send_invitation(session, settings, u, actor.actor)
        except InvitationError as e:
            raise HTTPException(409, detail=PageError(str(e))) from None
        msg = "invited"
    else:
        u.active = action == "enable"
        if not u.active:
            accounts.revoke_all_credentials(session, u)
        session.add(u)
        audit(session, actor.actor, action, "user", u.id, u.customer_id)
        msg = action + "d"
    session.commit()
    return RedirectResponse(f"/users/{u.id}?msg={msg}", status_code=303)


# --- the invitation link -------------------------------------------------------------------------


def _invitation(session, token: str) -> tuple[Invitation, User]:
    """The pending invitation of the link (accounts.find_invitation), or a page saying what to do."""
    found = accounts.find_invitation(session, token)
    if found is None:
        raise HTTPException(
            404,
            detail=PageError(
                _(
                    "This invitation link is expired, already used or replaced by a newer one: ask the person who "
                    "invited you for a new invitation."
                )
            ),
        )
    return found


@router.get("/invitation/{token}", response_class=HTMLResponse, dependencies=[Public])
def invitation_page(token: str, request: Request, session: SessionDep):
    found = _invitation(session, token)
    return templates.TemplateResponse(request, "invitation.html", {"invited": found[1], "errors": {}})


@router.post("/invitation/{token}", response_class=HTMLResponse, dependencies=[Public])
async def invitation_accept(token: str, request: Request, session: SessionDep) -> Response:
    found = _invitation(session, token)
    form = await request.form()
    pw = {"password": str(form.get("password", "")), "password_again": str(form.get("password_again", ""))}
    data, errors = validate_form(PasswordForm, pw)
    if data is not None and data.password != data.password_again:
        errors = {"password_again": _("The two passwords differ.")}
    if data is not None and not errors:
        user = accounts.accept_invitation(session, token, data.password)
        audit(session, f"{user.username}#{user.id}", "accept_invitation", "user", user.id, user.customer_id)
        session.commit()
        return RedirectResponse("/login?msg=password_set", status_code=303)
    return templates.TemplateResponse(
        request, "invitation.html", {"invited": found[1], "errors": errors}, status_code=422
    )


# --- one's own settings --------------------------------------------------------------------------


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, session: SessionDep, actor: AnyUser):
    u = session.get(User, actor.user_id)
    if u is None:
        raise HTTPException(404)
    return _render(
        request,
        "account.html",
        actor,
        u=u,
        errors={},
        values={"full_name": u.full_name, "language": u.language or ""},
    )


@router.post("/account", response_class=HTMLResponse)
async def account_save(request: Request, session: SessionDep, actor: AnyUser) -> Response:
    u = session.get(User, actor.user_id)
    if u is None:
        raise HTTPException(404)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("full_name", "language")}
    data, errors = validate_form(AccountForm, values)
    if data is None:
        return _render(request, "account.html", actor, 422, u=u, errors=errors, values=values)
    u.full_name, u.language = data.full_name, data.language
    session.add(u)
    audit(session, actor.actor, "update", "user", u.id, u.customer_id, {"language": data.language})
    session.commit()
    resp = RedirectResponse("/account?msg=saved", status_code=303)
    resp.delete_cookie("noxus_lang", path="/")  # the new setting applies, not an older switcher choice
    return resp
