import shutil
import uuid

import pytest
from fastapi.testclient import TestClient
from noxus.core.db import get_session, make_engine
from noxus.core.migrate import upgrade
from noxus.core.settings import Settings, get_settings
from noxus.hr.models import Customer, Site
from sqlalchemy import create_engine, text
from sqlmodel import Session

from tests.conftest import PG, PG_ADMIN_URL

# Migrating a fresh database per test costs seconds (every context's migrations);
# these tests copy one database migrated per session instead: a file copy on
# SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL. Same schema, same engines.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet-template") / "noxus.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template():
    if not PG:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = "noxus_fleet_tpl_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated database per test, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        for suffix in ("", "-wal", "-shm"):
            if template.with_name(template.name + suffix).exists():
                shutil.copy(template.with_name(template.name + suffix), tmp_path / ("noxus.db" + suffix))
        eng = make_engine(f"sqlite:///{tmp_path / 'noxus.db'}")
        yield eng
        eng.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = "noxus_t_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    eng = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    yield eng
    eng.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
