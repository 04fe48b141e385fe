"""Staff page: kiosks waiting with a claim code, approved at a site (web UI)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from noxus.core.deps import SessionDep
from noxus.core.i18n import format_datetime, lazy_gettext
from noxus.core.i18n import gettext as _
from noxus.core.security import TechStaff
from noxus.fleet import enrollment as svc
from noxus.web.forms import validate_form
from noxus.web.templating import templates

router = APIRouter(prefix="/enrollment", include_in_schema=False)


MESSAGES = {
    "approved": lazy_gettext("The kiosk is approved: it fetches its credentials at its next poll."),
    "cancelled": lazy_gettext(
        "The claim is cancelled: its code can no longer be approved. A genuine kiosk shows a new code."
    ),
    "gone": lazy_gettext(
        "That claim is no longer pending (approved, cancelled or expired): nothing to cancel."
    ),
}


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


@router.post("/claims/{claim_id}/cancel", response_class=HTMLResponse)
async def cancel_from_page(claim_id: int, request: Request, session: SessionDep, user: TechStaff):
    """A pending claim that is not genuine (or a kiosk that drew a new code): confirmed on a
    page first, then cancelled and audited; the board may then announce another code."""
    form = await request.form()
    try:
        claim = svc.pending_claim(session, claim_id)
    except svc.EnrollmentError:
        return RedirectResponse("/enrollment/claims?msg=gone", status_code=303)
    if form.get("confirmed") != "yes":
        return templates.TemplateResponse(
            request,
            "confirm.html",
            {
                "user": user,
                "csrf": user.csrf_token or "",
                "title": _("Cancel the claim of board %(board)s?", board=claim.board_uid),
                "text": _(
                    "The kiosk with board %(board)s has been waiting since %(since)s. Once the claim is "
                    "cancelled its code can no longer be approved; a genuine kiosk draws a new code at its "
                    "next poll and shows it.",
                    board=claim.board_uid,
                    since=format_datetime(claim.created_at),
                ),
                "button": _("Cancel the claim"),
                "action": f"/enrollment/claims/{claim.id}/cancel",
                "cancel": "/enrollment/claims",
                "hidden": {"confirmed": "yes"},
            },
        )
    svc.cancel_claim(session, claim_id, user.actor)
    session.commit()
    return RedirectResponse("/enrollment/claims?msg=cancelled", status_code=303)
