"""Defensive response headers (CSP without inline code, frame-ancestors, HSTS
only over TLS, nosniff, Referrer-Policy), and download file names built from
hostile data (quotes, CR/LF, non-Latin-1) that cannot break the header."""

import pathlib
import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from noxus.web.download import content_disposition
from sqlmodel import Session

from tests.support.records import add_customer, add_employee

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "backend" / "noxus" / "web" / "templates"
HOSTILE = ['P"1', 'a";\r\nX-Evil: 1', "山田-42", "Zoë/../..\\x", "\x00\x7f", '";filename="evil.exe']


def test_every_response_carries_a_csp_without_inline_code_and_the_defensive_headers(noxus_app):
    client = TestClient(noxus_app)
    for path in ("/login", "/api/v1/health", "/nowhere"):
        h = client.get(path, follow_redirects=False).headers
        csp = h["content-security-policy"]
        assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in h  # plain HTTP: HSTS would be ignored, and lie


def test_hsts_is_sent_over_https_only(noxus_app):
    h = TestClient(noxus_app, base_url="https://testserver").get("/login").headers
    assert h["strict-transport-security"].startswith("max-age=31536000")


def test_templates_hold_no_inline_script_style_or_event_handler():
    offenders = []
    for t in TEMPLATES.rglob("*.html"):
        text = t.read_text()
        if (
            re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
            or "<style" in text
            or re.search(r"\sstyle=\"", text)
            or re.search(r"\son[a-z]+=\"", text)
        ):
            offenders.append(t.name)
    assert offenders == []


@pytest.mark.parametrize("name", HOSTILE)
def test_content_disposition_of_a_hostile_name_is_one_safe_header_that_keeps_the_name(name):
    value = content_disposition(f"timesheet_{name}.csv")
    value.encode("latin-1")  # a header must be Latin-1: no 500
    assert "\r" not in value and "\n" not in value
    plain, star = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', value).groups()
    assert unquote(star) == f"timesheet_{name}.csv"
    assert re.fullmatch(r"[A-Za-z0-9._\-+()\[\] ]+", plain)


def test_export_of_an_employee_with_a_hostile_personnel_number_downloads(engine, noxus_app, login_as):
    number = 'P"7;\r山田'
    with Session(engine) as s:
        c = add_customer(s)
        e = add_employee(s, c.id, "A", "B", number, badge="04A1")
        s.commit()
        emp_id, customer_id = e.id, c.id
    login_as("admin")
    r = TestClient(noxus_app).get(
        "/api/v1/hr/exports",
        params={
            "first": "2026-03-01",
            "last": "2026-03-31",
            "format": "csv",
            "customer_id": customer_id,
            "employee_id": emp_id,
        },
    )
    assert r.status_code == 200
    star = r.headers["content-disposition"].split("filename*=UTF-8''")[1]
    assert unquote(star) == f"timesheet_{number}_20260301-20260331.csv"
