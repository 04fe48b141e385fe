"""The dependency API other contexts build on: roles, rules, tenant scope."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from noxus.core.security import (
    HRReader,
    Principal,
    Public,
    Role,
    Scope,
    StaffOnly,
    TenantScope,
    override_principal,
    scope_for,
)
from noxus.tenancy.models import Site
from sqlmodel import select


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/staff")
    def staff(user: StaffOnly):
        return {"role": user.role}

    @app.get("/hr")
    def hr(user: HRReader, scope: TenantScope):
        return {"ids": None if scope.all else sorted(scope.customer_ids)}

    @app.get("/open", dependencies=[Public])
    def open_():
        return {}

    return app


def test_unauthenticated_request_gets_401():
    c = TestClient(_app())
    assert c.get("/staff").status_code == 401
    assert c.get("/open").status_code == 200


def test_role_rule_rejects_other_roles_with_403():
    app = _app()
    c = TestClient(app)
    override_principal(app, Role.HR_ADMIN, customer_id=7)
    assert c.get("/staff").status_code == 403
    assert c.get("/hr").json() == {"ids": [7]}
    override_principal(app, Role.TECHNICIAN)
    assert c.get("/staff").json() == {"role": "technician"}
    assert c.get("/hr").status_code == 403


def test_scope_filters_queries_to_own_customer_and_staff_see_all():
    hr = scope_for(Principal(1, "u", Role.HR_VIEWER, customer_id=3))
    stmt = str(hr.where(select(Site), Site.customer_id).compile(compile_kwargs={"literal_binds": True}))
    assert "site.customer_id IN (3)" in stmt
    assert hr.allows(3) and not hr.allows(4) and not hr.allows(None)
    staff = scope_for(Principal(2, "s", Role.BILLING))
    assert staff.all and staff.allows(4)
    assert Scope.only(()).allows(1) is False
