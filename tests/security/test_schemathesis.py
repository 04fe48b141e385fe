"""Hostile input against the whole HTTP API: Schemathesis generates requests from the app's own
OpenAPI schema for every operation, authenticated as a NOXUS administrator (who may call every
route). No response may be a 5xx, and every documented response must match its schema."""

import os
import time
import warnings
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlmodel import Session

# "METHOD /path" -> why it is excused (a defect owned by another context, reported to its owner)
KNOWN_ISSUES: dict[str, str] = {}
EXAMPLES = int(os.environ.get("NOXUS_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def st_app(tmp_path_factory):
    from noxus.core.db import get_session, make_engine
    from noxus.core.migrate import upgrade
    from noxus.core.security import override_principal
    from noxus.main import create_app

    from tests.support.records import add_customer, add_employee

    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'noxus.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        add_employee(s, add_customer(s, "Fuzz SA").id, "F", "Z", "1", date(2024, 1, 1))
        s.commit()
    app = create_app()

    def _session():
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = _session
    override_principal(app, "admin")
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def st_schema(st_app):
    return schemathesis.openapi.from_asgi("/openapi.json", st_app)


def test_api_never_fails_with_5xx_nor_violates_its_schema(st_schema):
    # one Hypothesis run per operation; (schemathesis.pytest.from_fixture does not work with pytest 9)
    failures, operations = [], 0
    for result in st_schema.get_all_operations():
        op = result.ok()
        operations += 1

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: keeps CI time bounded
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        t0 = time.monotonic()
        try:
            run()
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 -- collect every failing operation
            key = f"{op.method.upper()} {op.path}"
            if key in KNOWN_ISSUES:
                warnings.warn(f"known issue, still failing: {key}: {KNOWN_ISSUES[key]}", stacklevel=1)
            else:
                failures.append(f"{key}: {str(e)[:1500]}")
        print(f"{op.method.upper()} {op.path}: {time.monotonic() - t0:.1f}s", flush=True)
    assert operations > 10
    assert not failures, "\n\n".join(failures)
