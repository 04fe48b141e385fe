import pytest
from fastapi.testclient import TestClient
from noxus.core.db import get_session
from noxus.core.settings import Settings, get_settings
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session

# `engine` (a migrated database per test, SQLite and PostgreSQL) comes from tests/conftest.py.


@pytest.fixture
def site(engine):
    """A customer with one site: (customer_id, site_id)."""
    with Session(engine) as s:
        c = Customer(name="Boulangerie Dupont SA")
        s.add(c)
        s.flush()
        st = Site(customer_id=c.id, name="Lausanne, Rue Centrale 4")
        s.add(st)
        s.commit()
        return c.id, st.id


@pytest.fixture
def settings():
    return Settings(mqtt_port=1)  # nothing listens on port 1: readiness tests override it


@pytest.fixture
def app(engine, settings):
    from noxus.main import create_app

    app = create_app()

    def session():
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = session
    app.dependency_overrides[get_settings] = lambda: settings
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
