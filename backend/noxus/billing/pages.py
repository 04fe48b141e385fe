"""Billing staff page (/billing): customers' overdue states, invoices, the unmatched payments
queue, retrieval cases, and the buttons staff use (monthly run, dunning, camt.054 import, notice
sent, visit, kiosk retrieved). Forms post back and redirect (POST/redirect/GET); the security
layer checks the session cookie and each form's CSRF field."""

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import select

from noxus.billing import camt, dunning, payments, retrieval
from noxus.billing.models import BillingProfile, Invoice, RetrievalCase
from noxus.billing.money import chf
from noxus.billing.retrieval import OPEN_STATES
from noxus.billing.run import run_month
from noxus.billing.state import standings
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.outbox import OutboxMail
from noxus.core.security import BillingStaff, TechStaff
from noxus.tenancy.models import Customer
from noxus.web.templating import templates

router = APIRouter(prefix="/billing", include_in_schema=False)
FormStr = Annotated[str, Form()]


def _back(**params) -> RedirectResponse:
    return RedirectResponse("/billing?" + urlencode({k: v for k, v in params.items() if v}), status_code=303)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    zone = ZoneInfo(settings.timezone)
    customers = {c.id: c.name for c in session.exec(select(Customer))}
    profiles = session.exec(select(BillingProfile).order_by(BillingProfile.customer_id)).all()
    invoices = session.exec(select(Invoice).order_by(Invoice.id.desc()).limit(200)).all()
    balances: dict[int, int] = {}
    for inv in session.exec(select(Invoice).where(Invoice.status == "open")):
        balances[inv.customer_id] = balances.get(inv.customer_id, 0) + inv.balance
    cases = session.exec(select(RetrievalCase).order_by(RetrievalCase.id.desc()).limit(50)).all()
    return templates.TemplateResponse(request, "billing_overview.html", {
        "user": user, "csrf": user.csrf_token or "", "customers": customers, "profiles": profiles,
        "invoices": invoices, "balances": balances, "cases": cases, "open_states": OPEN_STATES,
        "unmatched": payments.unmatched(session), "chf": chf, "zone": zone, "today": datetime.now(zone).date(),
        "standings": standings(session, None, datetime.now(zone).date(), settings),
        "failed_mails": session.exec(select(OutboxMail).where(OutboxMail.status == "failed")).all(),
        "msg": request.query_params.get("msg"), "err": request.query_params.get("err")})


@router.post("/run")
def run(session: SessionDep, settings: SettingsDep, user: BillingStaff, period: FormStr):
    try:
        day = date.fromisoformat(period + "-01" if len(period) == 7 else period)
    except ValueError:
        return _back(err=f"period {period!r} is not a month like 2026-03")
    r = run_month(session, day, settings, actor=user.actor)
    return _back(msg=f"run {day:%Y-%m}: {len(r.created)} invoices created, {r.existing} already invoiced",
                 err="; ".join(r.errors))


@router.post("/dunning")
def run_dunning(session: SessionDep, settings: SettingsDep, user: BillingStaff, today: FormStr):
    r = dunning.run_dunning(session, date.fromisoformat(today), settings, user.actor)
    return _back(msg=f"dunning {today}: {len(r.reminders)} reminders, {len(r.retrieval_cases)} retrieval cases")


@router.post("/camt054")
def import_camt(session: SessionDep, user: BillingStaff, file: Annotated[UploadFile, File()]):
    try:
        r = payments.import_camt054(session, file.file.read(), actor=user.actor)
    except camt.CamtError as exc:
        return _back(err=f"{file.filename}: {exc}")
    session.commit()
    return _back(msg=f"{file.filename}: {r.new} new ({r.matched} matched, {r.unmatched} unmatched), "
                     f"{r.duplicates} already imported")


@router.post("/payments/{payment_id}/assign")
def assign(payment_id: int, session: SessionDep, user: BillingStaff, invoice_number: FormStr):
    inv = session.exec(select(Invoice).where(Invoice.number == invoice_number.strip())).first()
    if inv is None:
        return _back(err=f"no invoice numbered {invoice_number!r}")
    try:
        payments.assign(session, payment_id, inv.id, user.actor)
    except payments.PaymentError as exc:
        return _back(err=str(exc))
    session.commit()
    return _back(msg=f"payment {payment_id} assigned to {inv.number}")


def _local(value: str, settings) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(settings.timezone))


@router.post("/cases/{case_id}/notice-sent")
def notice_sent(case_id: int, session: SessionDep, settings: SettingsDep, user: BillingStaff,
                sent_at: FormStr, channel: FormStr):
    try:
        retrieval.record_notice_sent(session, case_id, _local(sent_at, settings), channel, user.actor)
    except ValueError as exc:
        return _back(err=str(exc))
    session.commit()
    return _back(msg=f"case {case_id}: notice recorded")


@router.post("/cases/{case_id}/visit")
def visit(case_id: int, session: SessionDep, settings: SettingsDep, user: BillingStaff, start: FormStr,
          end: FormStr):
    try:
        retrieval.schedule_visit(session, case_id, _local(start, settings), _local(end, settings), user.actor)
    except ValueError as exc:
        return _back(err=str(exc))
    session.commit()
    return _back(msg=f"case {case_id}: visit scheduled")


@router.post("/cases/{case_id}/retrieved")
def retrieved(case_id: int, session: SessionDep, user: TechStaff, kiosk_id: FormStr):
    try:
        retrieval.mark_retrieved(session, case_id, kiosk_id, user.actor)
    except ValueError as exc:
        return _back(err=str(exc))
    session.commit()
    return _back(msg=f"kiosk {kiosk_id} retrieved")
