"""Staff page: kiosks waiting with a claim code, approved at a site (web UI)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from noxus.core.deps import SessionDep
from noxus.core.i18n import lazy_gettext
from noxus.core.security import TechStaff
from noxus.fleet import enrollment as svc
from noxus.web.forms import validate_form
from noxus.web.templating import templates

router = APIRouter(prefix="/enrollment", include_in_schema=False)


MESSAGES = {"approved": lazy_gettext("The kiosk is approved: it fetches its credentials at its next poll.")}


def _page(
    request: Request,
    session,
    user,
    status_code: int = 200,
    values: dict | None = None,
    errors: dict | None = None,
    msg: str | None = None,
) -> HTMLResponse:
    from noxus.tenancy.models import Customer, Site

    customers = {c.id: c.name for c in session.exec(select(Customer))}
    sites = [
        (s.id, f"{customers.get(s.customer_id, '?')} — {s.name}")
        for s in session.exec(select(Site).order_by(col(Site.customer_id), col(Site.name)))
    ]
    return templates.TemplateResponse(
        request,
        "enrollment_claims.html",
        {
            "claims": svc.list_claims(session),
            "sites": sites,
            "csrf": user.csrf_token or "",
            "msg": msg,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request, session: SessionDep, user: TechStaff, msg: str = ""):
    note = MESSAGES.get(msg)  # a key, never free text from the address
    return _page(request, session, user, msg=str(note) if note else None)


@router.post("/claims/approve", response_class=HTMLResponse)
async def approve_from_page(request: Request, session: SessionDep, user: TechStaff):
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}
    data, errors = validate_form(svc.ClaimApprove, form)
    if data is None:
        return _page(request, session, user, 422, form, errors)
    try:
        await run_in_threadpool(svc.approve_claim, session, data, user.actor)
    except svc.EnrollmentError as e:
        session.rollback()
        return _page(request, session, user, 422, form, {"code": str(e)})
    session.commit()
    return RedirectResponse("/enrollment/claims?msg=approved", status_code=303)
