"""The billing API and staff page over HTTP: roles, tenancy, run button, camt upload, PDF and SVG."""

from datetime import date

import pytest
import time_machine
from fastapi.testclient import TestClient
from noxus.billing.models import Invoice, Payment
from noxus.core.db import get_session
from noxus.core.security import Role, override_principal
from noxus.main import create_app
from sqlmodel import Session, select

from .camtgen import camt054


@pytest.fixture
def app(engine):
    app = create_app()

    def session():
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = session
    return app


def as_user(app, role, customer_id=None):
    override_principal(app, role, customer_id)
    return TestClient(app)


@time_machine.travel("2026-01-02 08:00 +01:00", tick=False)
def test_staff_run_import_and_customer_sees_only_its_invoices(app, session, books, monkeypatch):
    a, _ = books.customer("Alpha SA", start=date(2026, 1, 1), kiosks=0)
    b, _ = books.customer("Beta SA", start=date(2026, 1, 1), kiosks=0)
    session.commit()
    monkeypatch.setattr("noxus.billing.run.hr_meter", lambda s, ids, *a, **k: dict.fromkeys(ids, 0))
    staff = as_user(app, Role.BILLING)
    r = staff.post("/api/v1/billing/runs", json={"period": "2026-01-01"})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    assert staff.post("/api/v1/billing/runs", json={"period": "2026-01-01"}).json()["created"] == 0
    preview = staff.get("/api/v1/billing/drafts/preview", params={"period": "2026-01-01"}).json()
    assert preview["drafts"] == 2 and preview["total"] == sum(c["total"] for c in preview["customers"])
    issued = staff.post("/api/v1/billing/drafts/issue", json={"period": "2026-01-01"})
    assert issued.status_code == 200, issued.text
    assert sorted(i["number"] for i in issued.json()) == ["2026-000001", "2026-000002"]
    inv_a = session.exec(select(Invoice).where(Invoice.customer_id == a.id)).one()
    inv_b = session.exec(select(Invoice).where(Invoice.customer_id == b.id)).one()
    xml = camt054(
        "API1", [{"ref": "T1", "amount": inv_a.total, "reference": inv_a.reference, "day": date(2026, 1, 4)}]
    )
    r = staff.post("/api/v1/billing/payments/camt054", files={"file": ("camt.xml", xml, "application/xml")})
    assert r.json()["matched"] == 1
    r = staff.post("/api/v1/billing/payments/camt054", files={"file": ("camt.xml", xml, "application/xml")})
    assert r.json()["duplicates"] == 1
    assert len(session.exec(select(Payment)).all()) == 1

    customer = as_user(app, Role.HR_ADMIN, a.id)
    listed = customer.get("/api/v1/billing/invoices").json()
    assert [i["number"] for i in listed] == [inv_a.number] and listed[0]["status"] == "paid"
    assert customer.get(f"/api/v1/billing/invoices/{inv_b.id}").status_code == 404
    pdf = customer.get(f"/api/v1/billing/invoices/{inv_a.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    svg = customer.get(f"/api/v1/billing/invoices/{inv_a.id}/qrbill.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert customer.post("/api/v1/billing/runs", json={"period": "2026-02-01"}).status_code == 403

    page = as_user(app, Role.BILLING).get("/billing")  # the override is app-wide: switch back
    assert page.status_code == 200 and "Alpha SA" in page.text
    page = as_user(app, Role.BILLING).get("/billing/invoices", params={"customer_id": a.id})
    assert page.status_code == 200 and inv_a.number in page.text and inv_b.number not in page.text
    assert as_user(app, Role.HR_ADMIN, a.id).get("/billing").status_code == 403
