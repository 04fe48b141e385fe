"""Log-in, sessions with CSRF, bearer tokens with revocation, lock-out and rate limiting,
the security log, and user management within a tenant."""

import pytest
from fastapi.testclient import TestClient
from noxus.core import accounts
from noxus.core.settings import get_settings
from noxus.core.users import LoginAttempt, User, UserCreate
from noxus.tenancy.models import Customer
from sqlmodel import Session, select

PW = "correct horse battery"


@pytest.fixture
def world(engine):
    with Session(engine) as s:
        a, b = Customer(name="Alpha SA"), Customer(name="Beta Sàrl")
        s.add_all([a, b])
        s.flush()
        accounts.create_user(s, UserCreate(username="root", role="admin", password=PW))
        accounts.create_user(s, UserCreate(username="tech", role="technician", password=PW))
        accounts.create_user(s, UserCreate(username="hra", role="hr_admin", customer_id=a.id, password=PW))
        accounts.create_user(s, UserCreate(username="hrb", role="hr_admin", customer_id=b.id, password=PW))
        s.commit()
        return {"a": a.id, "b": b.id}


@pytest.fixture
def client(noxus_app):
    return TestClient(noxus_app, base_url="https://testserver")


def _api_login(client, user, pw=PW):
    return client.post("/api/v1/auth/login", json={"username": user, "password": pw})


def test_password_is_stored_as_argon2id(engine, world):
    with Session(engine) as s:
        u = s.exec(select(User).where(User.username == "root")).one()
    assert u.password_hash.startswith("$argon2id$") and PW not in u.password_hash


def test_bearer_token_works_until_revoked(client, world):
    r = _api_login(client, "tech")
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/auth/me", headers=h).json()["role"] == "technician"
    assert client.delete(f"/api/v1/auth/tokens/{r.json()['id']}", headers=h).status_code == 204
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_garbage_or_missing_credentials_get_401(client, world):
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nxt_nope"}).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_web_session_cookie_is_secure_httponly_and_unsafe_methods_need_csrf(client, world, engine):
    r = client.post("/login", data={"username": "root", "password": PW}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["via"] == "session"
    # a forged cross-site POST carries the cookie but not the token
    assert client.post("/api/v1/auth/tokens", json={"name": "x"}).status_code == 403
    with Session(engine) as s:
        from noxus.core.users import WebSession

        csrf = s.exec(select(WebSession.csrf_token)).one()
    r = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_browser_without_session_is_redirected_to_login(client, world):
    r = client.get("/security/log", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/security/log")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, world, engine):
    for _ in range(get_settings().login_max_failures):
        assert _api_login(client, "hra", "wrong password!").status_code == 401
    r = _api_login(client, "hra")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    with Session(engine) as s:
        reasons = [a.reason for a in s.exec(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert reasons[-2:] == ["bad_password+locked", "locked"]


def test_admin_unlocks_a_locked_account(client, world, auth_headers):
    for _ in range(get_settings().login_max_failures):
        _api_login(client, "hrb", "nope nope nope")
    admin = auth_headers("admin")
    uid = next(u["id"] for u in client.get("/api/v1/users", headers=admin).json() if u["username"] == "hrb")
    assert client.post(f"/api/v1/users/{uid}/unlock", headers=admin).status_code == 200
    assert _api_login(client, "hrb").status_code == 200


def test_many_failures_from_one_ip_are_rate_limited(client, world):
    limit = get_settings().login_ip_max_failures
    for i in range(limit):
        _api_login(client, f"nobody{i}", "whatever-whatever")
    assert _api_login(client, "root").status_code == 429  # even a good password, from that IP


def test_security_log_page_lists_failed_logins_for_admins_only(client, world, auth_headers):
    _api_login(client, "root", "bad bad bad bad")
    page = client.get("/security/log?lang=en", headers=auth_headers("admin"))
    assert page.status_code == 200 and "wrong password" in page.text and "testclient" in page.text
    assert client.get("/security/log", headers=auth_headers("technician")).status_code == 403
    assert (
        client.get(
            "/api/v1/security/login-attempts", headers=auth_headers("hr_admin", world["a"])
        ).status_code
        == 403
    )


def test_hr_admin_manages_only_own_customer_users_and_no_staff_roles(client, world, auth_headers):
    h = auth_headers("hr_admin", world["a"])
    names = {u["username"] for u in client.get("/api/v1/users", headers=h).json()}
    assert "hra" in names and "hrb" not in names and "root" not in names
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "viewer1", "role": "hr_viewer", "password": "long enough pw"},
    )
    assert r.status_code == 201 and r.json()["customer_id"] == world["a"]
    r = client.post(
        "/api/v1/users", headers=h, json={"username": "xx", "role": "hr_viewer", "customer_id": world["b"]}
    )
    assert r.status_code == 404
    assert (
        client.post("/api/v1/users", headers=h, json={"username": "boss", "role": "admin"}).status_code == 403
    )


def test_role_change_revokes_existing_tokens(client, world, auth_headers):
    admin = auth_headers("admin")
    tok = _api_login(client, "hra").json()["token"]
    uid = next(u["id"] for u in client.get("/api/v1/users", headers=admin).json() if u["username"] == "hra")
    assert client.patch(f"/api/v1/users/{uid}", headers=admin, json={"role": "hr_viewer"}).status_code == 200
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401


def test_customer_user_lands_on_hr_pages_and_staff_on_the_overview(client, world):
    r = client.post("/login", data={"username": "hra", "password": PW}, follow_redirects=False)
    assert r.headers["location"] == "/hr"
    r = client.post(
        "/login",
        data={"username": "root", "password": PW, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"  # no open redirect


def test_logout_page_carries_the_csrf_token_that_signs_out(client, world):
    import re

    client.post("/login", data={"username": "tech", "password": PW}, follow_redirects=False)
    page = client.get("/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401
