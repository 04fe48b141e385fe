"""The security log as people read it: one sentence per log-in attempt in the reader's language
and the company's zone, filtered by person and dates, paged newest first; the same filters in
the API and `noxus security log`."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from noxus.core.users import LoginAttempt
from sqlmodel import Session

# 23:30 UTC on 31 March is 01:30 on 1 April in Zurich (summer time): a day filter in the
# company's zone puts it on 1 April, a UTC one would not.
NIGHT = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
EVENING = datetime(2026, 3, 31, 19, 0, tzinfo=UTC)


@pytest.fixture
def attempts(engine):
    with Session(engine) as s:
        s.add_all(
            [
                LoginAttempt(at=EVENING, username="anna", ip="10.0.0.1", success=True, reason="ok"),
                LoginAttempt(at=NIGHT, username="bob", ip="10.0.0.9", success=False, reason="bad_password"),
                LoginAttempt(
                    at=NIGHT + timedelta(minutes=1),
                    username="bob",
                    ip="10.0.0.9",
                    success=False,
                    reason="bad_password+locked",
                ),
                LoginAttempt(
                    at=NIGHT + timedelta(minutes=2),
                    username="eve",
                    ip="10.6.6.6",
                    success=False,
                    reason="unknown_user",
                ),
            ]
        )
        s.commit()


def _rows(html: str) -> list[str]:
    body = html.split('<table id="security">', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", r).split() for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)][1:]


def _text(row) -> str:
    return " ".join(row)


def test_attempts_read_as_sentences_in_german_and_in_swiss_time(noxus_app, auth_headers, attempts):
    client = TestClient(noxus_app)
    page = client.get("/security/log?lang=de", headers=auth_headers("admin"))
    assert page.status_code == 200
    rows = [_text(r) for r in _rows(page.text)]
    assert (
        rows[0]
        == "01.04.2026 01:32:00 Anmeldung für eve von 10.6.6.6 aus abgelehnt: Diesen Benutzer gibt es nicht."
    )
    assert (
        rows[1] == "01.04.2026 01:31:00 Anmeldung für bob von 10.0.0.9 aus abgelehnt: "
        "falsches Passwort; das Konto ist jetzt gesperrt."
    )
    assert rows[3] == "31.03.2026 21:00:00 anna hat sich von 10.0.0.1 aus angemeldet."
    assert "bad_password" not in page.text  # no code, a sentence
    fr = client.get("/security/log?lang=fr", headers=auth_headers("admin")).text
    assert "Connexion refusée pour bob depuis 10.0.0.9 : mot de passe erroné." in fr


def test_filters_by_person_and_by_days_in_the_company_zone(noxus_app, auth_headers, attempts):
    client = TestClient(noxus_app)
    h = auth_headers("admin")
    bob = _rows(client.get("/security/log?lang=en&person=Bo", headers=h).text)
    assert len(bob) == 2 and all("bob" in r for r in bob)
    april = _rows(client.get("/security/log?lang=en&first=2026-04-01&last=2026-04-01", headers=h).text)
    assert [r[0] for r in april] == ["01.04.2026"] * 3  # the 23:30 UTC attempt is on 1 April in Zurich
    march = client.get("/security/log?lang=en&first=2026-03-01&last=2026-03-31&person=anna", headers=h).text
    assert [_text(r) for r in _rows(march)] == ["31.03.2026 21:00:00 anna logged in from 10.0.0.1."]
    assert 'value="2026-03-01"' in march and 'value="anna"' in march  # the filters stay in the form
    failed = _rows(client.get("/security/log?lang=en&failed_only=true", headers=h).text)
    assert len(failed) == 3 and not any("logged in" in _text(r) for r in failed)
    api = client.get("/api/v1/security/login-attempts?person=bob&first=2026-04-01&last=2026-04-01", headers=h)
    assert [a["reason"] for a in api.json()] == ["bad_password+locked", "bad_password"]


def test_the_log_is_paged_newest_first(noxus_app, auth_headers, engine):
    with Session(engine) as s:
        s.add_all(
            LoginAttempt(at=EVENING + timedelta(minutes=i), username=f"u{i:02d}", ip="10.0.0.2", success=True)
            for i in range(60)
        )
        s.commit()
    client = TestClient(noxus_app)
    h = auth_headers("admin")
    first = client.get("/security/log?lang=en&person=u", headers=h).text
    rows = _rows(first)
    assert len(rows) == 50 and rows[0][2] == "u59" and rows[-1][2] == "u10"
    older = re.search(r'href="([^"]*before_id=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    rest = _rows(client.get(older, headers=h).text)
    assert [r[2] for r in rest] == [f"u{i:02d}" for i in range(9, -1, -1)]
    assert "before_id" not in client.get(older, headers=h).text.split("</table>", 1)[1]


def test_the_cli_prints_the_same_sentences(tmp_path, monkeypatch):
    from noxus.core.db import get_engine
    from noxus.core.migrate import upgrade
    from noxus.core.settings import get_settings
    from typer.testing import CliRunner

    url = f"sqlite:///{tmp_path / 'n.db'}"
    monkeypatch.setenv("NOXUS_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        upgrade(url)
        with Session(get_engine()) as s:
            s.add(LoginAttempt(at=NIGHT, username="bob", ip="10.0.0.9", success=False, reason="locked"))
            s.commit()
        from noxus.cli import app

        r = CliRunner().invoke(
            app, ["security", "log", "--person", "bob", "--from", "2026-04-01", "--lang", "de"]
        )
        assert r.exit_code == 0, r.output
        assert r.output.strip() == (
            "01.04.2026 01:30:00  Anmeldung für bob von 10.0.0.9 aus abgelehnt: Das Konto ist gesperrt."
        )
        bad = CliRunner().invoke(app, ["security", "log", "--from", "31.03.2026"])
        assert bad.exit_code == 2 and "not a date" in bad.output
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
