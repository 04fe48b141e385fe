"""Who is calling, what they may do, which customers' data they may see.

The stable API other contexts use (Annotated dependencies, see docs/security.md):

    from noxus.core.security import CurrentUser, TenantScope, Role, require_roles, StaffOnly, ...

    @router.get("/employees", dependencies=[HRRead])        # or: user: HRReader
    def list_employees(session: SessionDep, scope: TenantScope):
        return session.exec(scope.where(select(Employee), Employee.customer_id)).all()

- A route declares exactly one access rule: a `require_roles(...)` dependency (the aliases below)
  or `Public`. tests/security/test_route_policies.py fails for any route without one.
- Tenancy is enforced in one place, `Scope`: customer users see their own customer only, NOXUS
  staff see all. Lists go through `scope.where(stmt, column)`; single objects through
  `scope.check(obj.customer_id)` (404 for other tenants, so ids of other customers do not leak).

Authentication: `Authorization: Bearer nxt_...` (API, provisioning CLI) or the `noxus_session`
cookie (web UI; unsafe methods then also need the CSRF token). Both are resolved against the
database by noxus.core.accounts; revoked or expired credentials give 401.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from noxus.core import accounts, i18n
from noxus.core.deps import SessionDep
from noxus.core.principal import ALL_ROLES, CUSTOMER_ROLES, STAFF_ROLES, Principal, Role

__all__ = [
    "ALL_ROLES",
    "CUSTOMER_ROLES",
    "STAFF_ROLES",
    "Principal",
    "Role",
]  # re-exported: one import for routes

SESSION_COOKIE = "noxus_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": 'Bearer realm="noxus"'}
    )


async def get_principal(request: Request, session: SessionDep) -> Principal:
    """Resolve the caller from a bearer token or the session cookie; 401 if neither is valid.

    Async only to read a form's CSRF field; the database look-ups run in the thread pool so a
    slow database never blocks the event loop."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, raw = auth.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _unauthorized("use 'Authorization: Bearer <token>' (create one with `noxus token create`)")
        principal = await run_in_threadpool(accounts.principal_from_token, session, raw.strip())
        if principal is None:
            raise _unauthorized("token unknown, expired or revoked; create a new one")
        await _refine_language(request, session, principal)
        request.state.principal = principal
        return principal

    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = await run_in_threadpool(accounts.principal_from_session, session, cookie)
        if principal is None:
            raise _unauthorized("session expired or signed out; log in again at /login")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                field = (await request.form()).get(CSRF_FORM_FIELD)
                sent = field if isinstance(field, str) else None  # a file upload is no token
            if not accounts.csrf_matches(principal, sent):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, detail="CSRF token missing or wrong; reload the page"
                )
        await _refine_language(request, session, principal)
        request.state.principal = principal
        return principal

    raise _unauthorized("authentication required: log in at /login or send a bearer token")


async def _refine_language(request: Request, session: SessionDep, principal: Principal) -> None:
    customer_language = None
    resolver = i18n.customer_language_resolver
    if principal.language is None and principal.customer_id is not None and resolver is not None:
        customer_language = await run_in_threadpool(resolver, session, principal.customer_id)
    explicit = bool(getattr(request.state, "language_explicit", False))
    i18n.refine_for_user(explicit, principal.language, customer_language)


CurrentUser = Annotated[Principal, Depends(get_principal)]


# --- access rules -------------------------------------------------------------------------------

POLICY_ATTR = "__noxus_policy__"


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that lets only the given roles through (403 otherwise).

    The returned callable carries the rule (POLICY_ATTR) so the route audit test can read it."""
    allowed = frozenset(Role(r) for r in roles)
    if not allowed:
        raise ValueError("require_roles() needs at least one role; use Public for open routes")

    def dependency(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role.value!r} may not do this; needs one of "
                + ", ".join(sorted(r.value for r in allowed)),
            )
        return principal

    setattr(dependency, POLICY_ATTR, allowed)
    dependency.__name__ = "require_" + "_".join(sorted(r.value for r in allowed))
    return dependency


def public_route() -> None:
    """Marks a route deliberately open to anyone (health check, log-in page)."""


setattr(public_route, POLICY_ATTR, "public")
Public = Depends(public_route)

# Principal-returning aliases: `user: StaffOnly` both declares the rule and gives the caller.
AdminOnly = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
StaffOnly = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
BillingStaff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.BILLING))]
TechStaff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.TECHNICIAN))]
# HR data: NOXUS admins (support) and the customer's HR users; scope still limits the tenant.
HRAdmin = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.HR_ADMIN))]
HRReader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.HR_ADMIN, Role.HR_VIEWER))]
AnyUser = Annotated[Principal, Depends(require_roles(*ALL_ROLES))]

# Same rules for `dependencies=[...]` on a decorator or an APIRouter.
AdminRule = Depends(require_roles(Role.ADMIN))
StaffRule = Depends(require_roles(*STAFF_ROLES))
BillingRule = Depends(require_roles(Role.ADMIN, Role.BILLING))
TechRule = Depends(require_roles(Role.ADMIN, Role.TECHNICIAN))
HRAdminRule = Depends(require_roles(Role.ADMIN, Role.HR_ADMIN))
HRReadRule = Depends(require_roles(Role.ADMIN, Role.HR_ADMIN, Role.HR_VIEWER))
AnyUserRule = Depends(require_roles(*ALL_ROLES))


# --- tenancy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The customers whose data the caller may see. `customer_ids is None` means all (staff)."""

    customer_ids: frozenset[int] | None

    @property
    def all(self) -> bool:
        return self.customer_ids is None

    @property
    def own_customer_id(self) -> int | None:
        """The single customer of a customer user (None for staff)."""
        if self.customer_ids is not None and len(self.customer_ids) == 1:
            return next(iter(self.customer_ids))
        return None

    def allows(self, customer_id: int | None) -> bool:
        return self.customer_ids is None or (customer_id is not None and customer_id in self.customer_ids)

    def where(self, stmt: Any, column: Any) -> Any:
        """Restrict a SELECT to the visible customers (`column` is the customer_id column)."""
        if self.customer_ids is None:
            return stmt
        return stmt.where(column.in_(sorted(self.customer_ids)))

    def check(self, customer_id: int | None, what: str = "object") -> None:
        """404 (not 403) for another tenant's object: its existence is not disclosed."""
        if not self.allows(customer_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{what} not found")

    def resolve_customer(self, requested: int | None) -> int:
        """The customer a create/list is for: customer users are pinned to their own."""
        own = self.own_customer_id
        if own is not None:
            if requested is not None and requested != own:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail="customer not found")
            return own
        if requested is None:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, detail="customer_id is required: staff must say which customer"
            )
        return requested

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @classmethod
    def only(cls, ids: Iterable[int]) -> Scope:
        return cls(frozenset(ids))


def scope_for(principal: Principal) -> Scope:
    if principal.is_staff:
        return Scope.everything()
    if principal.customer_id is None:  # a customer user without customer sees nothing
        return Scope.only(())
    return Scope.only((principal.customer_id,))


def get_tenant_scope(principal: CurrentUser) -> Scope:
    return scope_for(principal)


TenantScope = Annotated[Scope, Depends(get_tenant_scope)]


# --- for tests ----------------------------------------------------------------------------------


def override_principal(app: Any, role: Role | str, customer_id: int | None = None, **kw: Any) -> Principal:
    """Make every request to `app` authenticate as this principal (tests only).

    Bypasses tokens/sessions/CSRF but still applies role rules and tenant scope."""
    role = Role(role)
    principal = Principal(
        user_id=kw.pop("user_id", 0),
        username=kw.pop("username", f"test-{role.value}"),
        role=role,
        customer_id=None if role in STAFF_ROLES else customer_id,
        via="test",
        **kw,
    )
    app.dependency_overrides[get_principal] = lambda: principal
    return principal


# --- introspection (route audit test, docs) -----------------------------------------------------


def route_policy(route: Any) -> frozenset[Role] | str | None:
    """The access rule a FastAPI route declares: a set of roles, "public", or None (no rule).

    Several rules on one route (router-level + route-level) combine as an intersection."""
    found: list[Any] = []

    def walk(dep: Any) -> None:
        rule = getattr(dep.call, POLICY_ATTR, None) if dep.call is not None else None
        if rule is not None:
            found.append(rule)
        for sub in dep.dependencies:
            walk(sub)

    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    walk(dependant)
    if not found:
        return None
    roles = [r for r in found if r != "public"]
    if not roles:
        return "public"
    out = roles[0]
    for r in roles[1:]:
        out = out & r
    return out
