"""Staff page: kiosks waiting with a claim code, approved at a site (web UI)."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from noxus.core.deps import SessionDep
from noxus.core.security import TechStaff
from noxus.fleet import enrollment as svc
from noxus.web import flash
from noxus.web.templating import templates

router = APIRouter(prefix="/enrollment", include_in_schema=False)


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request, session: SessionDep, user: TechStaff):
    from noxus.tenancy.models import Customer, Site

    customers = {c.id: c.name for c in session.exec(select(Customer))}
    sites = [(s.id, f"{customers.get(s.customer_id, '?')} — {s.name}")
             for s in session.exec(select(Site).order_by(col(Site.customer_id), col(Site.name)))]
    return templates.TemplateResponse(request, "enrollment_claims.html", {
        "claims": svc.list_claims(session), "sites": sites, "csrf": user.csrf_token or "",
        "msg": flash.read(request, "msg") or "", "err": flash.read(request, "err") or ""})


@router.post("/claims/approve")
def approve_from_page(session: SessionDep, user: TechStaff, code: Annotated[str, Form()],
                      site_id: Annotated[int, Form()], name: Annotated[str, Form()] = ""):
    try:
        claim = svc.approve_claim(session, svc.ClaimApprove(code=code, site_id=site_id, name=name), user.actor)
    except (svc.EnrollmentError, ValueError) as e:
        session.rollback()
        return RedirectResponse(f"/enrollment/claims?{urlencode(flash.params(err=str(e)))}", status_code=303)
    session.commit()
    done = urlencode(flash.params(msg=f"kiosk {claim.kiosk_id} approved"))
    return RedirectResponse(f"/enrollment/claims?{done}", status_code=303)
