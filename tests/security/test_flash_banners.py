"""An error or success banner passed through a redirect URL shows only when
this server wrote it: a crafted link (`?err=<any text>`) shows nothing."""

from fastapi.testclient import TestClient
from noxus.tenancy.models import Customer
from sqlmodel import Session

PHISH = "Your account is locked: call +41 900 000 000"


def test_a_crafted_err_or_msg_link_shows_no_banner(engine, noxus_app, login_as):
    with Session(engine) as s:
        c = Customer(name="Alpha SA")
        s.add(c)
        s.commit()
        cid = c.id
    login_as("admin")
    client = TestClient(noxus_app)
    for url in (
        f"/hr/employees?customer_id={cid}&err={PHISH}",
        f"/billing?err={PHISH}&msg={PHISH}",
        f"/hr/employees?customer_id={cid}&err={PHISH}&err_sig=00000000000000000000000000000000",
        f"/enrollment/claims?err={PHISH}",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        assert "call +41 900" not in r.text, url


def test_the_servers_own_error_banner_survives_the_redirect(noxus_app, login_as):
    login_as("admin")
    client = TestClient(noxus_app)
    # a billing run for a month that does not exist: refused, and the page it returns to says why
    r = client.post("/billing/run", data={"period": "2026-13"}, follow_redirects=False)
    assert r.status_code == 303 and "err_sig=" in r.headers["location"]
    page = client.get(r.headers["location"])
    assert 'role="alert">' in page.text and "2026-13" in page.text
