"""Users are invited, not given passwords: a one-time link in an e-mail (through the outbox) sets
the password; the link works once and expires; only its hash is stored. Who may invite whom;
disabling and role changes take effect at once; each person chooses their language."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from noxus.core.outbox import OutboxMail
from noxus.core.types import utcnow
from noxus.core.users import Invitation, User
from noxus.tenancy.models import Customer
from sqlmodel import Session, select

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def tenants(engine):
    with Session(engine) as s:
        a, b = Customer(name="Alpha SA", language="fr"), Customer(name="Beta AG", language="de")
        s.add_all([a, b])
        s.commit()
        return a.id, b.id


def html(app) -> TestClient:
    return TestClient(
        app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )


def mails(engine) -> list[OutboxMail]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMail).order_by(OutboxMail.id)))


def link_of(mail: OutboxMail) -> str:
    return re.search(r"https?://\S+/invitation/(\S+)", mail.body).group(1)


def test_an_invitation_is_confirmed_sent_used_once_and_only_its_hash_is_kept(
    noxus_app, login_as, engine, tenants
):
    a, _b = tenants
    login_as("billing")
    c = html(noxus_app)
    form = {
        "email": "claire@alpha.ch",
        "full_name": " Claire Dubois ",
        "role": "hr_admin",
        "customer_id": str(a),
        "language": "",
    }
    ask = c.post("/users/new", data=form)
    assert ask.status_code == 200 and 'name="confirmed" value="yes"' in ask.text  # asks before sending mail
    assert mails(engine) == []
    done = c.post("/users/new", data={**form, "confirmed": "yes"})
    assert done.status_code == 303
    [mail] = mails(engine)
    assert mail.to_addr == "claire@alpha.ch" and mail.category == "invitation"
    assert "Claire Dubois" in mail.body and "72" in mail.body
    assert mail.subject == "Votre compte NoxusTime"  # the customer's language (fr)
    token = link_of(mail)
    with Session(engine) as s:
        inv = s.exec(select(Invitation)).one()
        assert inv.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in inv.token_hash
        user = s.exec(select(User).where(User.username == "claire@alpha.ch")).one()
        assert user.password_hash is None and user.customer_id == a and user.full_name == "Claire Dubois"

    noxus_app.dependency_overrides.clear()
    from noxus.core.db import get_session

    def _session():
        with Session(engine) as s:
            yield s

    noxus_app.dependency_overrides[get_session] = _session
    guest = html(noxus_app)
    page = guest.get(f"/invitation/{token}")
    assert page.status_code == 200 and "claire@alpha.ch" in page.text
    differ = guest.post(f"/invitation/{token}", data={"password": PASSWORD, "password_again": PASSWORD + "!"})
    assert differ.status_code == 422 and 'data-field="password_again"' in differ.text
    short = guest.post(f"/invitation/{token}", data={"password": "short", "password_again": "short"})
    assert short.status_code == 422 and 'data-field="password"' in short.text
    ok = guest.post(f"/invitation/{token}", data={"password": PASSWORD, "password_again": PASSWORD})
    assert ok.status_code == 303 and ok.headers["location"] == "/login?msg=password_set"
    again = guest.get(f"/invitation/{token}")
    assert again.status_code == 404 and "invitation" in again.text.lower()  # works once
    login = guest.post("/login", data={"username": "claire@alpha.ch", "password": PASSWORD})
    assert login.status_code == 303 and login.headers["location"] == "/hr"  # HR lands on HR


def test_an_invitation_link_expires(noxus_app, login_as, engine, tenants):
    a, _ = tenants
    login_as("admin")
    c = TestClient(noxus_app, base_url="https://testserver")
    r = c.post(
        "/api/v1/users/invite",
        json={"email": "hans@beta.ch", "full_name": "Hans", "role": "hr_viewer", "customer_id": a},
    )
    assert r.status_code == 201, r.text
    token = link_of(mails(engine)[0])
    with time_machine.travel(utcnow() + timedelta(hours=73), tick=False):
        gone = c.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert gone.status_code == 404
    # a new invitation replaces the old link
    assert c.post(f"/api/v1/users/{r.json()['id']}/invite").status_code == 200
    new = link_of(mails(engine)[-1])
    assert (
        c.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}).status_code == 404
    )
    assert c.post("/api/v1/invitations/accept", json={"token": new, "password": PASSWORD}).status_code == 204


def test_a_customer_hr_admin_invites_colleagues_of_its_own_customer_only(
    noxus_app, login_as, engine, tenants
):
    a, b = tenants
    login_as("hr_admin", a)
    c = TestClient(noxus_app, base_url="https://testserver")
    other = c.post(
        "/api/v1/users/invite",
        json={"email": "x@beta.ch", "full_name": "X", "role": "hr_viewer", "customer_id": b},
    )
    assert other.status_code == 404
    staff = c.post("/api/v1/users/invite", json={"email": "y@alpha.ch", "full_name": "Y", "role": "admin"})
    assert staff.status_code == 403
    ok = c.post("/api/v1/users/invite", json={"email": "z@alpha.ch", "full_name": "Z", "role": "hr_viewer"})
    assert ok.status_code == 201 and ok.json()["customer_id"] == a
    page = html(noxus_app).get("/users/new").text
    options = re.search(r'<select id="f-role".*?</select>', page, re.DOTALL).group(0)
    assert 'value="hr_viewer"' in options and 'value="admin"' not in options
    assert f'name="customer_id" value="{a}"' in page  # pinned, not a choice
    # the page's form refuses another customer too (the hidden field is overridden)
    forged = html(noxus_app).post(
        "/users/new",
        data={
            "email": "w@alpha.ch",
            "full_name": "W",
            "role": "hr_viewer",
            "customer_id": str(b),
            "confirmed": "yes",
        },
    )
    assert forged.status_code == 303
    with Session(engine) as s:
        assert s.exec(select(User).where(User.username == "w@alpha.ch")).one().customer_id == a
    login_as("hr_admin", b)
    assert "z@alpha.ch" not in html(noxus_app).get("/users").text
    assert html(noxus_app).get(f"/users/{ok.json()['id']}").status_code == 404


def test_bad_invitation_input_is_said_per_field_and_creates_nothing(noxus_app, login_as, engine, tenants):
    login_as("admin")
    r = html(noxus_app).post(
        "/users/new?lang=de",
        data={"email": "nope", "full_name": "  ", "role": "", "customer_id": "", "confirmed": "yes"},
    )
    assert r.status_code == 422
    fields = dict(re.findall(r'data-field="(\w+)">([^<]+)<', r.text))
    assert set(fields) >= {"email", "full_name", "role"} and "erforderlich" in fields["full_name"]
    assert 'value="nope"' in r.text
    hr_without_customer = html(noxus_app).post(
        "/users/new?lang=en",
        data={"email": "a@b.ch", "full_name": "A", "role": "hr_admin", "confirmed": "yes"},
    )
    assert hr_without_customer.status_code == 422 and 'data-field="customer_id"' in hr_without_customer.text
    with Session(engine) as s:
        assert s.exec(select(User)).all() == []
    assert mails(engine) == []


def test_disabling_asks_first_and_cuts_sessions_and_role_change_is_audited(
    noxus_app, login_as, engine, tenants
):
    from noxus.core import accounts
    from noxus.core.audit import AuditEntry
    from noxus.core.settings import get_settings
    from noxus.core.users import UserCreate

    a, _ = tenants
    with Session(engine) as s:
        u = accounts.create_user(
            s, UserCreate(username="lea", role="hr_viewer", customer_id=a, password=PASSWORD)
        )
        _ws, raw = accounts.create_web_session(s, u, get_settings())
        s.commit()
        uid = u.id
    login_as("billing")
    c = html(noxus_app)
    assert f"/users/{uid}/disable" in c.get(f"/users/{uid}/disable").text
    assert (
        c.post(f"/users/{uid}", data={"full_name": "Léa", "role": "hr_admin", "language": "de"}).status_code
        == 303
    )
    assert c.post(f"/users/{uid}/disable").status_code == 303
    with Session(engine) as s:
        u = s.get(User, uid)
        assert (u.active, u.role, u.language) == (False, "hr_admin", "de")
        assert accounts.principal_from_session(s, raw) is None
        actions = [e.action for e in s.exec(select(AuditEntry).where(AuditEntry.object_type == "user"))]
        assert actions == ["update", "disable"]


def test_each_person_chooses_their_language(noxus_app, engine, tenants):
    from noxus.core import accounts
    from noxus.core.users import UserCreate

    a, _ = tenants
    with Session(engine) as s:
        accounts.create_user(
            s, UserCreate(username="anna", role="hr_admin", customer_id=a, password=PASSWORD)
        )
        s.commit()
    c = html(noxus_app)
    c.post("/login", data={"username": "anna", "password": PASSWORD})
    page = c.get("/account")
    assert page.status_code == 200 and '<html lang="fr">' in page.text  # the customer's language
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert (
        c.post("/account", data={"csrf_token": csrf, "full_name": "Anna", "language": "de"}).status_code
        == 303
    )
    assert '<html lang="de">' in c.get("/account").text


class _Inbox:
    def __init__(self):
        self.bodies: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.bodies.append(envelope.content.decode())
        return "250 OK"


def test_billing_staff_reading_the_outbox_never_see_an_admins_invitation_link(
    noxus_app, login_as, engine, tenants
):
    import socket

    from aiosmtpd.controller import Controller
    from noxus.core import outbox
    from noxus.core.settings import Settings

    login_as("admin")
    api = TestClient(noxus_app, base_url="https://testserver")
    r = api.post(
        "/api/v1/users/invite", json={"email": "root@noxus.ch", "full_name": "Root", "role": "admin"}
    )
    assert r.status_code == 201, r.text
    [mail] = mails(engine)
    token = link_of(mail)
    login_as("billing")
    page = html(noxus_app).get(f"/billing/outbox/{mail.id}")
    assert page.status_code == 200 and "/invitation/…" in page.text and token not in page.text

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with Session(engine) as s:
            assert outbox.deliver(s, Settings(_env_file=None, smtp_port=port)) == 1
    finally:
        smtp.stop()
    [sent] = inbox.bodies
    assert token in sent  # the person gets the link...
    [stored] = mails(engine)
    assert stored.status == "sent" and token not in stored.body  # ...the database keeps it no longer
    assert "/invitation/…" in stored.body
