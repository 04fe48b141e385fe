"""Every route × role × tenant: who may do what.

- Every route of the app declares an access rule (`require_roles(...)` or `Public`, see
  noxus.core.security); a route added later without one fails here.
- Without credentials every non-public route answers 401.
- Each role gets the role rule's 403 exactly when the rule excludes it.
- A customer user of tenant B, pointed at tenant A's objects (path ids and ?customer_id=),
  never gets a success for an object route nor any of A's data in a response.
"""

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from noxus.core.security import (
    ALL_ROLES,
    CUSTOMER_ROLES,
    Role,
    get_principal,
    override_principal,
    route_policy,
)
from sqlmodel import Session

# FastAPI's own documentation routes (not APIRoutes) are public by design
DOC_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
MARKER = "TenantAlphaMarker"
RULE_403 = "may not do this"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from noxus.core import accounts
    from noxus.core.db import get_session, make_engine
    from noxus.core.migrate import upgrade
    from noxus.core.users import UserCreate
    from noxus.hr.models import Badge, Employee
    from noxus.main import create_app
    from noxus.privacy.models import DataSubjectRequest
    from noxus.tenancy.models import Customer, Site

    url = f"sqlite:///{tmp_path_factory.mktemp('routes') / 'noxus.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        # tenant A's objects are created first: id 1 everywhere
        a = Customer(name=f"{MARKER} SA")
        s.add(a)
        s.flush()
        b = Customer(name="Beta Sàrl")
        s.add(b)
        s.flush()
        s.add(Site(customer_id=a.id, name=f"{MARKER} site"))
        emp = Employee(
            customer_id=a.id,
            first_name=MARKER,
            last_name=MARKER,
            personnel_number=MARKER,
            active_from=date(2024, 1, 1),
        )
        s.add(emp)
        s.flush()
        s.add(
            Badge(
                customer_id=a.id,
                uid="04AA0001",
                employee_id=emp.id,
                valid_from=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
        s.add(
            DataSubjectRequest(
                customer_id=a.id,
                employee_id=emp.id,
                subject=MARKER,
                kind="access",
                deadline_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
        ua = accounts.create_user(
            s, UserCreate(username="hr-alpha", full_name=MARKER, role="hr_admin", customer_id=a.id)
        )
        accounts.create_token(s, ua, MARKER)
        s.commit()
        ids = {"customer_a": a.id, "customer_b": b.id}
    app = create_app()

    def _session():
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = _session
    yield app, ids
    engine.dispose()


def all_routes(app):
    """Every route as served, with router prefixes and router-level dependencies applied
    (FastAPI >= 0.16x keeps included routers nested; iter_route_contexts flattens them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _is_api(r) -> bool:
    return isinstance(getattr(r, "original_route", r), APIRoute)


def api_routes(app):
    return [r for r in all_routes(app) if _is_api(r)]


def _url(route, customer_a: int) -> str:
    # every path id points at tenant A's objects (created first: id 1); strings get "1" too
    path = re.sub(r"\{[^}]+\}", "1", route.path_format)
    return f"{path}?customer_id={customer_a}"


def _calls(app):
    for r in api_routes(app):
        for m in sorted(r.methods - {"HEAD", "OPTIONS"}):
            yield r, m


def test_every_route_declares_an_access_rule(world):
    app, _ = world
    missing = [f"{sorted(r.methods)} {r.path}" for r in api_routes(app) if route_policy(r) is None]
    others = [
        str(r.path)
        for r in all_routes(app)
        if not _is_api(r) and r.path not in DOC_PATHS and not str(r.path).startswith("/static")
    ]
    assert not missing, (
        "routes without an access rule (add require_roles(...) or Public, "
        "see docs/security.md):\n" + "\n".join(missing)
    )
    assert not others, f"non-API routes nobody reviewed: {others}"
    assert len(api_routes(app)) > 20  # the enumeration itself works


def test_without_credentials_every_non_public_route_answers_401(world):
    app, ids = world
    app.dependency_overrides.pop(get_principal, None)
    c = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    wrong = []
    for r, m in _calls(app):
        if route_policy(r) == "public":
            continue
        resp = c.request(m, _url(r, ids["customer_a"]))
        if resp.status_code != 401:
            wrong.append(f"{m} {r.path}: {resp.status_code}")
    assert not wrong, "reachable without logging in:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(ALL_ROLES, key=lambda r: r.value))
def test_each_role_is_let_through_exactly_where_the_rule_says(world, role):
    app, ids = world
    override_principal(app, role, customer_id=ids["customer_a"])
    c = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    wrong = []
    try:
        for r, m in _calls(app):
            rule = route_policy(r)
            if rule is None or rule == "public":
                continue
            resp = c.request(m, _url(r, ids["customer_a"]))
            refused = resp.status_code == 403 and RULE_403 in resp.text
            if (role in rule) == refused or resp.status_code == 401:
                wrong.append(f"{m} {r.path}: {resp.status_code} (rule: {sorted(x.value for x in rule)})")
    finally:
        app.dependency_overrides.pop(get_principal, None)
    assert not wrong, f"role {role.value}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(CUSTOMER_ROLES, key=lambda r: r.value))
def test_customer_users_never_see_another_tenants_data(world, role):
    app, ids = world
    override_principal(app, role, customer_id=ids["customer_b"])
    c = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    leaks = []
    try:
        for r, m in _calls(app):
            rule = route_policy(r)
            if rule is None or (rule != "public" and role not in rule):
                continue
            resp = c.request(m, _url(r, ids["customer_a"]))
            if MARKER in resp.text:
                leaks.append(f"{m} {r.path}: {resp.status_code} shows tenant A's data")
            elif "{" in r.path and resp.status_code < 300 and m == "GET":
                leaks.append(f"{m} {r.path}: {resp.status_code} for tenant A's object")
    finally:
        app.dependency_overrides.pop(get_principal, None)
    assert not leaks, f"{role.value} of another customer:\n" + "\n".join(leaks)


def test_staff_roles_see_every_tenant(world):
    app, _ = world
    override_principal(app, Role.ADMIN)
    try:
        c = TestClient(app, base_url="https://testserver")
        assert MARKER in c.get("/api/v1/privacy/requests").text
    finally:
        app.dependency_overrides.pop(get_principal, None)
