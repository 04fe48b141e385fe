"""`noxus hr export` writes the same files as the API and says what was wrong on bad input."""

import csv
import io

from noxus.cli import app
from noxus.core.db import get_engine
from noxus.core.settings import get_settings
from typer.testing import CliRunner

from .conftest import zh


def _noxus(*args: str):
    """`noxus ARGS` on the test database; its engine is dropped after (the next test's differs)."""
    r = CliRunner().invoke(app, list(args))
    get_engine().dispose()
    get_engine.cache_clear()
    return r


def _env(monkeypatch, db_url):
    monkeypatch.setenv("NOXUS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_cli_exports_semicolon_csv_with_bom(world, session, db_url, monkeypatch, tmp_path):
    world.employee(uid="04A1", number="42", first="Zoé", last="Kälin")
    world.punch("04A1", zh(2026, 10, 24, 22))
    world.punch("04A1", zh(2026, 10, 25, 6))  # fall back night: 9 h
    session.commit()
    _env(monkeypatch, db_url)
    out = tmp_path / "t.csv"
    c = str(world.a.id)
    r = _noxus(
        "hr",
        "export",
        "-c",
        c,
        "--from",
        "2026-10-24",
        "--to",
        "2026-10-25",
        "-f",
        "csv-excel",
        "-o",
        str(out),
    )
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))
    assert [(x["date"], x["worked_minutes"], x["worked_hhmm"]) for x in rows] == [
        ("2026-10-24", "540", "9:00"),
        ("2026-10-25", "0", "0:00"),
    ]
    assert rows[0]["last_name"] == "Kälin"


def test_cli_refuses_inverted_period(world, db_url, monkeypatch, tmp_path):
    _env(monkeypatch, db_url)
    r = _noxus("hr", "export", "-c", str(world.a.id), "--from", "2026-03-31", "--to", "2026-03-01")
    assert r.exit_code == 2 and "before it starts" in r.output


def test_cli_enters_an_absence_closes_the_month_and_writes_the_payroll(
    world, session, db_url, monkeypatch, tmp_path
):
    anne = world.employee(uid="04A1", number="42")
    world.punch("04A1", zh(2026, 2, 2, 8))  # no OUT: the checklist has an item
    session.commit()
    _env(monkeypatch, db_url)
    e, c = str(anne.id), str(world.a.id)
    r = _noxus("hr", "absence", "-e", e, "-t", "sick", "--from", "2026-02-09", "--to", "2026-02-10")
    assert r.exit_code == 0, r.output
    r = _noxus("hr", "absence", "-e", e, "-t", "vacation", "--from", "2026-02-10")
    assert r.exit_code == 2 and "absent" in r.output  # overlaps the sick days
    r = _noxus("hr", "close", "-c", c, "--year", "2026", "--month", "2")
    assert r.exit_code == 2 and "missing_out" in r.output
    r = _noxus("hr", "close", "-c", c, "--year", "2026", "--month", "2", "--acknowledge")
    assert r.exit_code == 0, r.output
    out = tmp_path / "p.csv"
    r = _noxus("hr", "payroll", "-c", c, "--year", "2026", "--month", "2", "-f", "csv-excel", "-o", str(out))
    assert r.exit_code == 0, r.output
    row = next(csv.DictReader(io.StringIO(out.read_bytes()[3:].decode("utf-8")), delimiter=";"))
    assert row["personnel_number"] == "42" and float(row["absence_sick_hours"]) == 16.8
