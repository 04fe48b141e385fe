"""Each role lands on its own page after logging in and its menu shows only the pages its role
may open — read from the routes' access rules, so menu and rules cannot disagree."""

import re

import pytest
from fastapi.testclient import TestClient
from noxus.tenancy.models import Customer
from sqlmodel import Session

PASSWORD = "correct horse battery staple"
LANDING = {"admin": "/", "billing": "/billing", "technician": "/fleet", "hr_admin": "/hr", "hr_viewer": "/hr"}
MENUS = {
    "admin": [
        "/",
        "/customers",
        "/fleet",
        "/fleet/visits",
        "/hr",
        "/billing",
        "/users",
        "/security/log",
        "/account",
        "/logout",
    ],
    "billing": ["/", "/customers", "/fleet", "/billing", "/users", "/account", "/logout"],
    "technician": ["/", "/customers", "/fleet", "/fleet/visits", "/account", "/logout"],
    "hr_admin": ["/hr", "/users", "/account", "/logout"],
    "hr_viewer": ["/hr", "/account", "/logout"],
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", sorted(LANDING))
def test_each_role_lands_on_its_page_and_sees_only_the_menu_entries_it_may_open(noxus_app, engine, role):
    from noxus.core import accounts
    from noxus.core.users import UserCreate
    from noxus.web.templating import MENU

    with Session(engine) as s:
        c = Customer(name="Alpha SA", language="fr")
        s.add(c)
        s.flush()
        accounts.create_user(
            s,
            UserCreate(
                username="u1",
                role=role,
                password=PASSWORD,
                customer_id=c.id if role.startswith("hr") else None,
            ),
        )
        s.commit()
    client = TestClient(
        noxus_app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )
    login = client.post("/login", data={"username": "u1", "password": PASSWORD})
    assert login.headers["location"] == LANDING[role]
    page = client.get("/account")
    nav = re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', page.text, re.DOTALL).group(1)
    shown = re.findall(r'href="([^"]+)"', nav)
    assert shown == MENUS[role]
    for path, _label in MENU:  # every entry shown opens; every entry hidden would be refused
        status = client.get(path).status_code
        assert (status in (200, 303)) == (path in shown), (path, status)
