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
from sqlmodel import Session, select

# FastAPI's own documentation routes (not APIRoutes) are public by design
DOC_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
MARKER = "TenantAlphaMarker"
RULE_403 = "may not do this"
# writes whose path id is not an object of a customer (nothing of tenant A to change)
OWN_OBJECT_WRITES: set[str] = set()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from noxus.billing.models import (
        BillingProfile,
        Contract,
        ContractKiosk,
        Document,
        Invoice,
        Payment,
        Plan,
    )
    from noxus.core import accounts
    from noxus.core.db import get_session, make_engine
    from noxus.core.migrate import upgrade
    from noxus.core.outbox import OutboxMail
    from noxus.core.users import UserCreate
    from noxus.fleet.models import Kiosk
    from noxus.main import create_app
    from noxus.privacy.models import DataSubjectRequest
    from noxus.tenancy.models import Customer, Site

    from tests.support.records import add_employee

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
        emp = add_employee(s, a.id, MARKER, MARKER, MARKER, date(2024, 1, 1), badge="04AA0001")
        s.add(
            DataSubjectRequest(
                customer_id=a.id,
                employee_id=emp.id,
                subject=MARKER,
                kind="access",
                deadline_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
        # what the operator pages show of tenant A: its kiosk, plan, contract, billing profile,
        # invoice and its PDF (ids 1, kiosk id "1"), each carrying the marker
        site_a = s.exec(select(Site).where(Site.customer_id == a.id)).one()
        s.add(Kiosk(id="1", name=MARKER, status="deployed", customer_id=a.id, site_id=site_a.id))
        plan = Plan(code="MARKER", name=MARKER)
        s.add(plan)
        s.flush()
        contract = Contract(customer_id=a.id, plan_id=plan.id, start_date=date(2024, 1, 1))
        s.add(contract)
        s.flush()
        s.add(ContractKiosk(contract_id=contract.id, kiosk_id="1", attached_on=date(2024, 1, 1)))
        s.add(
            BillingProfile(
                customer_id=a.id,
                legal_name=MARKER,
                street=MARKER,
                postcode="1000",
                town="Lausanne",
                invoice_email="alpha@alpha.example",
                contact_name=MARKER,
                contact_email="alpha@alpha.example",
                contact_street=MARKER,
                contact_postcode="1000",
                contact_town="Lausanne",
            )
        )
        inv = Invoice(
            customer_id=a.id,
            contract_id=contract.id,
            status="open",
            number="2024-000001",
            issue_date=date(2024, 2, 1),
            due_date=date(2024, 2, 11),
            total=12000,
            reference="210000000003139471430009017",
        )
        s.add(inv)
        s.flush()
        s.add(
            Document(
                kind="invoice",
                customer_id=a.id,
                invoice_id=inv.id,
                filename=f"{MARKER}.pdf",
                pdf=f"%PDF-1.4 {MARKER}".encode(),
            )
        )
        s.add(
            Payment(
                bank_ref=MARKER,
                source="camt054",
                amount=12000,
                value_date=date(2024, 2, 5),
                debtor_name=MARKER,
                invoice_id=inv.id,
                applied=12000,
                status="matched",
            )
        )
        s.add(
            OutboxMail(
                category="invoice",
                customer_id=a.id,
                to_addr="alpha@alpha.example",
                subject=MARKER,
                body=MARKER,
            )
        )
        ua = accounts.create_user(
            s, UserCreate(username="hr-alpha", full_name=MARKER, role="hr_admin", customer_id=a.id)
        )
        accounts.create_token(s, ua, MARKER)
        s.commit()
        ids = {"customer_a": a.id, "customer_b": b.id, "user_a": ua.id}
        assert {inv.id, contract.id, plan.id, site_a.id, ua.id} == {1}  # the ids _url fills in
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


def _url(route, customer_a: int, action: str = "1") -> str:
    # every path id points at tenant A's objects (created first: id 1); strings get "1" too, but
    # a path's {action} may be named (an unknown action is a 404 that would prove nothing)
    path = re.sub(r"\{[^}]+\}", "1", route.path_format.replace("{action}", action))
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
            resp = c.request(m, _url(r, ids["customer_a"], action="disable"))
            if MARKER in resp.text:
                leaks.append(f"{m} {r.path}: {resp.status_code} shows tenant A's data")
            elif "{" in r.path and resp.status_code < 300 and m == "GET":
                leaks.append(f"{m} {r.path}: {resp.status_code} for tenant A's object")
            elif "{" in r.path and resp.status_code < 400 and m != "GET" and r.path not in OWN_OBJECT_WRITES:
                leaks.append(f"{m} {r.path}: {resp.status_code}, a change to tenant A's object went through")
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


# the operator pages and their API: customers, sites, users, kiosks, billing set-up
OPERATOR_PREFIXES = (
    "/customers",
    "/sites",
    "/users",
    "/fleet",
    "/billing",
    "/api/v1/customers",
    "/api/v1/sites",
    "/api/v1/users",
    "/api/v1/kiosks",
    "/api/v1/billing",
)


# routes that show numbers, not names (history, telemetry, standing, lines, match suggestions, the
# invoice's JSON, a user's confirmation page titled with the login name)
NAMELESS = (
    "/history",
    "/telemetry",
    "/standing",
    "/lines",
    "/suggestions",
    "/invoices/{invoice_id}",
    "/{action}",
)


def test_every_operator_object_route_finds_tenant_as_object_so_the_tenant_test_proves_something(world):
    """The other-tenant test points every path id at tenant A's objects: a 404 there means
    "not yours" only if the object exists. Staff see each of them (the marker, where the route
    shows names) at every operator route with a path id."""
    app, ids = world
    override_principal(app, Role.ADMIN)
    c = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    missing, checked = [], 0
    try:
        for r, m in _calls(app):
            if m != "GET" or "{" not in r.path or not r.path.startswith(OPERATOR_PREFIXES):
                continue
            checked += 1
            resp = c.get(_url(r, ids["customer_a"], action="disable"))
            if resp.status_code != 200:
                missing.append(f"GET {r.path}: {resp.status_code}")
            elif not r.path.endswith(NAMELESS) and MARKER not in resp.text:
                missing.append(f"GET {r.path}: tenant A's marker not shown")
    finally:
        app.dependency_overrides.pop(get_principal, None)
    assert not missing, "operator routes whose object the test world lacks:\n" + "\n".join(missing)
    assert checked >= 25  # customers, sites, users, kiosks, contracts, profiles, invoices, documents…


def test_a_customer_hr_admin_cannot_change_another_customers_users_kiosks_or_contracts(world):
    """Well-formed changes (not empty bodies that a validator would refuse anyway) from tenant B's
    HR admin to tenant A's user, kiosk, site, customer and contract: each refused, nothing changed."""
    from noxus.billing.models import ContractKiosk
    from noxus.core.db import get_session
    from noxus.core.users import User
    from noxus.fleet.models import Kiosk
    from noxus.tenancy.models import Customer, Site

    app, ids = world
    a, user_a = ids["customer_a"], ids["user_a"]

    def snapshot():
        s = next(app.dependency_overrides[get_session]())
        u, k = s.get(User, user_a), s.get(Kiosk, "1")
        return (
            (u.full_name, u.role, u.active, u.customer_id),
            (k.status, k.customer_id, k.firmware_target),
            s.get(Customer, a).name,
            s.exec(select(Site.name).where(Site.customer_id == a)).all(),
            s.exec(select(ContractKiosk.kiosk_id, ContractKiosk.detached_on)).all(),
        )

    before = snapshot()
    override_principal(app, Role.HR_ADMIN, customer_id=ids["customer_b"])
    page = TestClient(
        app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )
    api = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    try:
        answers = {
            "edit A's user (page)": page.post(
                f"/users/{user_a}", data={"full_name": "Hijacked", "role": "hr_viewer", "language": "de"}
            ),
            "disable A's user (page)": page.post(f"/users/{user_a}/disable", data={"confirmed": "yes"}),
            "re-invite A's user (page)": page.post(f"/users/{user_a}/invite", data={"confirmed": "yes"}),
            "disable A's user (API)": api.patch(f"/api/v1/users/{user_a}", json={"active": False}),
            "rename A's user (API)": api.patch(f"/api/v1/users/{user_a}", json={"full_name": "Hijacked"}),
            "re-invite A's user (API)": api.post(f"/api/v1/users/{user_a}/invite"),
            "unlock A's user (API)": api.post(f"/api/v1/users/{user_a}/unlock"),
            "create a user at A (API)": api.post(
                "/api/v1/users",
                json={"username": "mole", "full_name": "Mole", "role": "hr_admin", "customer_id": a},
            ),
            "retire A's kiosk (page)": page.post(
                "/fleet/1/status", data={"status": "retrieval_eligible", "reason": "x", "confirmed": "yes"}
            ),
            "reboot A's kiosk (page)": page.post(
                "/fleet/1/command", data={"command": "reboot", "confirmed": "yes"}
            ),
            "firmware of A's kiosk (page)": page.post(
                "/fleet/1/firmware", data={"firmware_target": "6.6.6", "confirmed": "yes"}
            ),
            "retire A's kiosk (API)": api.post("/api/v1/kiosks/1/status", json={"status": "broken"}),
            "rename A (page)": page.post(f"/customers/{a}/edit", data={"name": "Hijacked"}),
            "rename A (API)": api.patch(f"/api/v1/customers/{a}", json={"name": "Hijacked"}),
            "rename A's site (API)": api.patch("/api/v1/sites/1", json={"name": "Hijacked"}),
            "detach A's kiosk (page)": page.post(
                "/billing/contracts/1/kiosks/1/detach", data={"on": "2024-06-30", "confirmed": "1"}
            ),
        }
        wrong = {k: r.status_code for k, r in answers.items() if r.status_code not in (403, 404)}
        shown = [k for k, r in answers.items() if MARKER in r.text]
    finally:
        app.dependency_overrides.pop(get_principal, None)
    assert not wrong, f"accepted or not refused: {wrong}"
    assert not shown, f"tenant A's data in the refusal: {shown}"
    assert snapshot() == before
