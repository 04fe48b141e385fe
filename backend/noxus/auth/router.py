"""Log-in (web session and bearer token), tokens, users and the security log.

Web pages live at /login, /logout, /security/log; the JSON API under /api/v1/auth, /api/v1/users,
/api/v1/security."""

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from noxus.auth import invitations, security_log
from noxus.auth.invitations import UserManager
from noxus.auth.schemas import InvitationAccept, LoginRequest, Me, UserInvite, UserUpdate
from noxus.core import accounts, audit
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import gettext as _
from noxus.core.security import (
    SESSION_COOKIE,
    AdminOnly,
    AnyUser,
    Principal,
    Public,
    Role,
    TenantScope,
)
from noxus.core.users import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginAttemptPublic,
    User,
    UserCreate,
    UserPublic,
)
from noxus.web.templating import templates

router = APIRouter(tags=["auth"])
# where each role lands after logging in (docs/security.md)
LANDING = {
    Role.ADMIN: "/",
    Role.BILLING: "/billing",
    Role.TECHNICIAN: "/fleet",
    Role.HR_ADMIN: "/hr",
    Role.HR_VIEWER: "/hr",
}


def client_ip(request: Request) -> str:
    # behind a reverse proxy run uvicorn with --proxy-headers (docs/security.md)
    return request.client.host if request.client else "?"


def _login_refused(result: accounts.LoginResult) -> HTTPException:
    if result.reason in ("rate_limited", "locked"):
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=_("Too many failed log-ins: try again later.")
            + (" or ask an administrator to unlock the account" if result.reason == "locked" else ""),
            headers={"Retry-After": str(result.retry_after_s)},
        )
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=_("Wrong user name or password."))


# --- web log-in ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse, include_in_schema=False, dependencies=[Public])
def login_page(request: Request, next: str = "/", msg: str = ""):
    note = _("Your password is set: log in.") if msg == "password_set" else None
    return templates.TemplateResponse(
        request, "login.html", {"error": None, "next": _safe_next(next), "msg": note}
    )


def _safe_next(url: str) -> str:
    # only local paths: no open redirect to another site
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


@router.post("/login", include_in_schema=False, dependencies=[Public])
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: str = Form(max_length=120),
    password: str = Form(max_length=256),
    next: str = Form(default="/"),
):
    result = accounts.authenticate(session, settings, username, password, client_ip(request))
    user = result.user
    if user is None:
        session.commit()  # the failed attempt is part of the security log
        err = _login_refused(result)
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": err.detail, "next": _safe_next(next)},
            status_code=err.status_code,
            headers=err.headers,
        )
    ws, raw = accounts.create_web_session(session, user, settings, client_ip(request))
    audit.record(
        session,
        f"{user.username}#{user.id}",
        "login",
        "session",
        ws.id,
        user.customer_id,
        {"ip": client_ip(request)},
    )
    session.commit()
    target = _safe_next(next)
    if target == "/":
        target = LANDING[Role(user.role)]  # each role starts on its own page
    resp = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    resp.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return resp


@router.get("/logout", response_class=HTMLResponse, include_in_schema=False)
def logout_page(request: Request, user: AnyUser):
    """A confirmation page: signing out is a POST with the CSRF token, never a bare link."""
    return templates.TemplateResponse(request, "logout.html", {"user": user})


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, user: AnyUser):
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        accounts.revoke_web_session(session, raw)
        session.commit()
    resp = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --- API log-in and tokens ----------------------------------------------------------------------


@router.post("/api/v1/auth/login", response_model=ApiTokenCreated, dependencies=[Public])
def api_login(data: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep):
    """Exchange a user name and password for a bearer token (provisioning CLI, scripts)."""
    result = accounts.authenticate(session, settings, data.username, data.password, client_ip(request))
    user = result.user
    if user is None:
        session.commit()
        raise _login_refused(result)
    token, raw = accounts.create_token(session, user, data.token_name, data.days)
    audit.record(
        session,
        f"{user.username}#{user.id}",
        "create",
        "token",
        token.id,
        user.customer_id,
        {"via": "login", "ip": client_ip(request)},
    )
    session.commit()
    session.refresh(token)
    return ApiTokenCreated(**token.model_dump(), token=raw)


@router.get("/api/v1/auth/me", response_model=Me)
def me(user: AnyUser):
    return Me(
        user_id=user.user_id,
        username=user.username,
        role=user.role.value,
        customer_id=user.customer_id,
        via=user.via,
    )


@router.get("/api/v1/auth/tokens", response_model=list[ApiTokenPublic])
def list_tokens(session: SessionDep, user: AnyUser):
    return session.exec(
        select(ApiToken).where(col(ApiToken.user_id) == user.user_id).order_by(col(ApiToken.id))
    ).all()


@router.post("/api/v1/auth/tokens", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(data: ApiTokenCreate, session: SessionDep, user: AnyUser):
    db_user = session.get(User, user.user_id) if user.user_id is not None else None
    if db_user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="user not found")
    token, raw = accounts.create_token(session, db_user, data.name, data.days)
    audit.record(session, user.actor, "create", "token", token.id, user.customer_id, {"name": data.name})
    session.commit()
    session.refresh(token)
    return ApiTokenCreated(**token.model_dump(), token=raw)


@router.delete("/api/v1/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, session: SessionDep, user: AnyUser):
    """Revoke one of your tokens (administrators: anyone's)."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.user_id and user.role != Role.ADMIN):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="token not found")
    accounts.revoke_token(session, token)
    audit.record(session, user.actor, "revoke", "token", token.id, None, {"owner": token.user_id})
    session.commit()


# --- users --------------------------------------------------------------------------------------


def _visible_user(session, scope, user_id: int, actor: Principal) -> User:
    u = session.get(User, user_id)
    # staff accounts (customer_id None) are visible to NOXUS administrators only
    if u is None or not invitations.visible(scope, actor, u):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="user not found")
    return u


def _check_grant(actor: Principal, role: str) -> None:
    # billing staff and HR admins give customer roles only (HR admins: their own customer's)
    try:
        wanted = Role(role)
    except ValueError:
        raise HTTPException(400, detail=f"unknown role {role!r}") from None
    if wanted not in invitations.grantable_roles(actor):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only NOXUS administrators grant staff roles")


@router.get("/api/v1/users", response_model=list[UserPublic])
def list_users(session: SessionDep, scope: TenantScope, actor: UserManager):
    stmt = select(User).order_by(col(User.id))
    if not scope.all:
        stmt = scope.where(stmt, User.customer_id)
    return [u for u in session.exec(stmt) if invitations.visible(scope, actor, u)]


@router.post("/api/v1/users/invite", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def invite_user(
    data: UserInvite, session: SessionDep, settings: SettingsDep, scope: TenantScope, actor: UserManager
):
    """Create a user without a password and send an invitation e-mail (outbox) with a one-time
    link to set it (docs/security.md)."""
    try:
        u = invitations.invite(session, settings, actor, scope, **data.model_dump())
    except invitations.InvitationError as e:
        raise HTTPException(e.status, detail=str(e)) from None
    session.commit()
    session.refresh(u)
    return u


@router.post("/api/v1/users/{user_id}/invite", response_model=UserPublic)
def reinvite_user(
    user_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, actor: UserManager
):
    """A new invitation link (older ones stop working)."""
    u = _visible_user(session, scope, user_id, actor)
    _check_grant(actor, u.role)
    try:
        invitations.send_invitation(session, settings, u, actor.actor)
    except invitations.InvitationError as e:
        raise HTTPException(409, detail=str(e)) from None
    session.commit()
    session.refresh(u)
    return u


@router.post("/api/v1/invitations/accept", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Public])
def accept_invitation(data: InvitationAccept, session: SessionDep):
    """Set the password with the token of an invitation link (works once, until it expires)."""
    try:
        u = accounts.accept_invitation(session, data.token, data.password)
    except accounts.AccountError as e:
        raise HTTPException(404 if "invitation" in str(e) else 400, detail=str(e)) from None
    audit.record(session, f"{u.username}#{u.id}", "accept_invitation", "user", u.id, u.customer_id)
    session.commit()


@router.post("/api/v1/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, scope: TenantScope, actor: UserManager):
    _check_grant(actor, data.role)
    if data.customer_id is not None or not scope.all:
        data.customer_id = scope.resolve_customer(data.customer_id)
    try:
        u = accounts.create_user(session, data)
    except accounts.AccountError as e:
        raise HTTPException(status.HTTP_409_CONFLICT if "exists" in str(e) else 400, detail=str(e)) from None
    audit.record(
        session, actor.actor, "create", "user", u.id, u.customer_id, {"role": u.role, "username": u.username}
    )
    session.commit()
    session.refresh(u)
    return u


@router.patch("/api/v1/users/{user_id}", response_model=UserPublic)
def update_user(user_id: int, data: UserUpdate, session: SessionDep, scope: TenantScope, actor: UserManager):
    u = _visible_user(session, scope, user_id, actor)
    _check_grant(actor, u.role)
    changes: dict = {}
    if data.role is not None and data.role != u.role:
        _check_grant(actor, data.role)
        try:
            new_role = Role(data.role)
        except ValueError:
            raise HTTPException(400, detail=f"unknown role {data.role!r}") from None
        if new_role.is_staff != Role(u.role).is_staff:
            raise HTTPException(
                400, detail="cannot move a user between staff and customer roles; create a new user"
            )
        changes["role"] = [u.role, new_role.value]
        u.role = new_role.value
    if data.full_name is not None:
        u.full_name = data.full_name
    if data.active is not None and data.active != u.active:
        changes["active"] = [u.active, data.active]
        u.active = data.active
    if data.password is not None:
        accounts.set_password(session, u, data.password)
        changes["password"] = "reset"
    if "role" in changes or changes.get("active") == [True, False] or "password" in changes:
        accounts.revoke_all_credentials(session, u)  # a changed right takes effect now
    session.add(u)
    audit.record(session, actor.actor, "update", "user", u.id, u.customer_id, changes)
    session.commit()
    session.refresh(u)
    return u


@router.post("/api/v1/users/{user_id}/unlock", response_model=UserPublic)
def unlock_user(user_id: int, session: SessionDep, scope: TenantScope, actor: UserManager):
    u = _visible_user(session, scope, user_id, actor)
    accounts.unlock(session, u)
    audit.record(session, actor.actor, "unlock", "user", u.id, u.customer_id)
    session.commit()
    session.refresh(u)
    return u


# --- security log -------------------------------------------------------------------------------


@router.get("/api/v1/security/login-attempts", response_model=list[LoginAttemptPublic])
def login_attempts(
    session: SessionDep,
    settings: SettingsDep,
    actor: AdminOnly,
    limit: int = 200,
    failed_only: bool = False,
    person: str = "",
    first: date | None = None,
    last: date | None = None,
    before_id: int | None = None,
):
    """Log-in attempts, newest first; `person` matches the start of the user name, `first` and
    `last` are days in the company's zone; page with `before_id` (the last id received)."""
    filters = security_log.Filters(person, first, last, failed_only, before_id)
    return security_log.attempts(session, ZoneInfo(settings.timezone), filters, max(1, min(limit, 5000)))


@router.get("/security/log", response_class=HTMLResponse, include_in_schema=False)
def security_log_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: AdminOnly,
    person: str = "",
    first: str = "",
    last: str = "",
    failed_only: bool = False,
    before_id: int | None = None,
):
    zone = ZoneInfo(settings.timezone)
    filters = security_log.Filters(
        person, security_log.day(first), security_log.day(last), failed_only, before_id
    )
    events, next_id = security_log.events(session, zone, filters)
    locked = session.exec(select(User).where(col(User.locked_until).is_not(None))).all()
    return templates.TemplateResponse(
        request,
        "security_log.html",
        {
            "events": events,
            "next_id": next_id,
            "zone": zone,
            "locked": locked,
            "values": {"person": person, "first": first, "last": last, "failed_only": failed_only},
            "user": actor,
        },
    )
