"""HR web pages (server-rendered, French first, English via ?lang=en or the
language switch). Forms post back here and redirect (POST/redirect/GET); the
security layer checks the session cookie and the CSRF field of each form."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import HRAdmin, HRReader, Principal, Scope, TenantScope
from noxus.hr import audit, badges, corrections, effective, employees, export_service, periods, timesheets
from noxus.hr.errors import HRError
from noxus.hr.i18n import lang_of, t
from noxus.hr.models import Employee
from noxus.hr.schemas import BadgeAssign, CorrectionCreate, EmployeeCreate
from noxus.ingest.models import Punch
from noxus.tenancy.models import Customer
from noxus.web import flash
from noxus.web.download import content_disposition
from noxus.web.templating import templates

router = APIRouter(prefix="/hr", include_in_schema=False)
FormStr = Annotated[str, Form()]
FormInt = Annotated[int, Form()]
FormDate = Annotated[date, Form()]
LANG_COOKIE = "noxus_lang"
WEEKDAYS = {"fr": ("lu", "ma", "me", "je", "ve", "sa", "di"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _lang(request: Request, session: Session, customer_id: int | None) -> str:
    q = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if q:
        return lang_of(q)
    c = session.get(Customer, customer_id) if customer_id else None
    return lang_of(c.language if c else None)


def _customer(request: Request, session: Session, scope: Scope) -> Customer:
    """The customer the page is about: the user's own, or (staff) ?customer_id=, else the first."""
    own = scope.own_customer_id
    asked = request.query_params.get("customer_id")
    if own is not None and asked and asked != str(own):
        raise HTTPException(404, "customer not found")
    wanted = own if own is not None else asked
    if wanted:
        c = session.get(Customer, int(wanted))
        if c is None or not scope.allows(c.id):
            raise HTTPException(404, "customer not found")
        return c
    if not scope.all:
        raise HTTPException(404, "no customer for this account")
    c = session.exec(select(Customer).order_by(Customer.id)).first()
    if c is None:
        raise HTTPException(404, "no customer yet: create one first")
    return c


def _render(request: Request, name: str, user: Principal, session: Session, scope: Scope, customer: Customer,
            settings, **ctx) -> HTMLResponse:
    lang = _lang(request, session, customer.id)
    customers = session.exec(scope.where(select(Customer), Customer.id).order_by(Customer.name)).all()
    zone = effective.customer_zone(session, customer.id, settings)
    resp = templates.TemplateResponse(request, name, {
        "user": user, "customer": customer, "customers": customers if scope.all else [],
        "lang": lang, "t": lambda k: t(k, lang), "zone": zone, "csrf": user.csrf_token or "",
        "msg": t(request.query_params.get("msg") or "", lang) or None, "err": flash.read(request, "err"),
        "cq": f"customer_id={customer.id}", "wd": lambda d: WEEKDAYS[lang][d.weekday()], "fmt_local": lambda dt: _local(dt, zone), "hours": timesheets.hours,
        **ctx})
    if request.query_params.get("lang"):
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return resp


def _local(dt: datetime | None, zone: ZoneInfo, fmt: str = "%d.%m.%Y %H:%M") -> str:
    return dt.astimezone(zone).strftime(fmt) if dt else "—"


def _back(path: str, customer_id: int, **params) -> RedirectResponse:
    err = params.pop("err", None)
    q = {"customer_id": customer_id, **{k: v for k, v in params.items() if v is not None},
         **flash.params(err=err)}
    return RedirectResponse(f"{path}?{urlencode(q)}", status_code=303)


def _parse_local(value: str, zone: ZoneInfo) -> datetime:
    """A datetime-local form value (site wall clock) to UTC. Ambiguous times
    in the October DST hour take the first (summer time) occurrence."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise HRError(f"time {value!r} is not a date and time like 2026-03-02T17:00") from None
    return naive.replace(tzinfo=zone).astimezone(UTC)


@router.get("", response_class=HTMLResponse)
def hr_home(request: Request, user: HRReader):
    q = request.url.query
    return RedirectResponse("/hr/employees" + (f"?{q}" if q else ""), status_code=303)


# --- employees --------------------------------------------------------------------------------

@router.get("/employees", response_class=HTMLResponse)
def employees_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                   user: HRReader, q: str = ""):
    c = _customer(request, session, scope)
    emps = employees.listing(session, scope, c.id, q)
    current = {b.employee_id: b.uid for b in badges.listing(session, scope) if b.valid_to is None}
    return _render(request, "hr_employees.html", user, session, scope, c, settings, employees=emps, q=q,
                   current_badge=current, today=date.today())


@router.post("/employees")
def employees_create(request: Request, session: SessionDep, scope: TenantScope, user: HRAdmin,
                     first_name: FormStr, last_name: FormStr, personnel_number: FormStr,
                     active_from: FormDate, customer_id: FormInt, weekly_hours: FormStr = "42"):
    scope.check(customer_id, "customer")
    try:
        minutes = round(float(weekly_hours.replace(",", ".")) * 60)
        emp = employees.create(session, customer_id, EmployeeCreate(
            first_name=first_name.strip(), last_name=last_name.strip(), personnel_number=personnel_number.strip(),
            weekly_minutes=minutes, active_from=active_from), user.actor)
    except (HRError, ValueError) as e:
        session.rollback()
        return _back("/hr/employees", customer_id, err=str(e))
    session.commit()
    return _back(f"/hr/employees/{emp.id}", customer_id, msg="employee_created")


@router.get("/employees/{employee_id}", response_class=HTMLResponse)
def employee_page(employee_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                  scope: TenantScope, user: HRReader, month: str | None = None):
    emp = _employee_or_404(session, scope, employee_id)
    c = session.get(Customer, emp.customer_id)
    year, mon = _month(month)
    first, last = timesheets.month_period(year, mon)
    sheet = timesheets.compute(session, emp.customer_id, [emp], first, last, settings)[0]
    punches_by_day: dict[date, list] = {}
    for p in sheet.punches:
        punches_by_day.setdefault(p.at.astimezone(sheet.zone).date(), []).append(p)
    prev_m = (first - timedelta(days=1)).strftime("%Y-%m")
    next_m = (last + timedelta(days=1)).strftime("%Y-%m")
    return _render(request, "hr_employee.html", user, session, scope, c, settings, emp=emp, sheet=sheet,
                   punches_by_day=punches_by_day, month=f"{year}-{mon:02d}", prev_m=prev_m, next_m=next_m,
                   closed=periods.is_closed(session, emp.customer_id, year, mon),
                   badges=badges.listing(session, scope, employee_id=emp.id),
                   corrections=corrections.listing(session, scope, emp.id, 50))


def _employee_or_404(session, scope, employee_id) -> Employee:
    try:
        return employees.get(session, scope, employee_id)
    except HRError as e:
        raise HTTPException(e.status_code, str(e)) from None


def _month(value: str | None) -> tuple[int, int]:
    if value:
        try:
            y, m = value.split("-")
            return int(y), int(m)
        except ValueError:
            raise HTTPException(422, f"month {value!r} must look like 2026-03") from None
    today = datetime.now(UTC).date()
    return today.year, today.month


@router.post("/employees/{employee_id}/corrections")
def correction_create(employee_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                      scope: TenantScope, user: HRAdmin, action: FormStr, reason: FormStr = "",
                      at: FormStr = "", ref: FormStr = "", month: FormStr = ""):
    """`ref` names the punch to move/void: p<raw punch id> or c<added punch's correction id>."""
    emp = _employee_or_404(session, scope, employee_id)
    zone = effective.employee_zone(session, emp, settings)
    punch_id = int(ref[1:]) if ref[:1] == "p" and ref[1:].isdigit() else None
    target_id = int(ref[1:]) if ref[:1] == "c" and ref[1:].isdigit() else None
    try:
        ts = _parse_local(at, zone) if at and action != "void" else None
        corrections.create(session, scope, CorrectionCreate(
            employee_id=emp.id, action=action, punch_id=punch_id, target_id=target_id, ts=ts,
            reason=reason.strip() or "-"), user.actor, settings)
    except (HRError, ValueError) as e:
        session.rollback()
        return _back(f"/hr/employees/{emp.id}", emp.customer_id, month=month or None, err=str(e))
    session.commit()
    return _back(f"/hr/employees/{emp.id}", emp.customer_id, month=month or None, msg="correction_saved")


# --- badges -------------------------------------------------------------------------------------

@router.get("/badges", response_class=HTMLResponse)
def badges_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                user: HRReader):
    c = _customer(request, session, scope)
    tenant = Scope.only([c.id])
    all_badges = badges.listing(session, tenant)
    names = {e.id: f"{e.last_name} {e.first_name}" for e in employees.listing(session, tenant, c.id)}
    return _render(request, "hr_badges.html", user, session, scope, c, settings, badges=all_badges, names=names,
                   unknown=badges.unknown(session, scope, c.id),
                   prefill=request.query_params.get("uid", ""))


@router.post("/badges")
def badges_assign(request: Request, session: SessionDep, scope: TenantScope, user: HRAdmin,
                  uid: FormStr, employee_id: FormInt, customer_id: FormInt, valid_from: FormStr = ""):
    scope.check(customer_id, "customer")
    try:
        start = datetime.fromisoformat(valid_from) if valid_from else None
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        badges.assign(session, scope, BadgeAssign(uid=uid, employee_id=employee_id, valid_from=start), user.actor)
    except (HRError, ValueError) as e:
        session.rollback()
        return _back("/hr/badges", customer_id, err=str(e).splitlines()[-1] if "\n" in str(e) else str(e))
    session.commit()
    return _back("/hr/badges", customer_id, msg="badge_assigned")


@router.post("/badges/{badge_id}/end")
def badges_end(badge_id: int, request: Request, session: SessionDep, scope: TenantScope, user: HRAdmin,
               state: FormStr):
    try:
        b = badges.get(session, scope, badge_id)
        badges.end(session, b, state, user.actor)
    except HRError as e:
        session.rollback()
        if e.status_code == 404:
            raise HTTPException(404, str(e)) from None
        return _back("/hr/badges", scope.own_customer_id or 0, err=str(e))
    session.commit()
    return _back("/hr/badges", b.customer_id, msg=f"badge {b.uid}: {state}")


# --- live punches, exceptions, corrections, periods, exports ------------------------------------

@router.get("/punches", response_class=HTMLResponse)
def punches_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                 user: HRReader):
    c = _customer(request, session, scope)
    from sqlalchemy import or_

    from noxus.hr.models import Badge

    rows = session.exec(
        select(Punch, Employee).join(Badge, Badge.uid == Punch.badge_uid)
        .join(Employee, Employee.id == Badge.employee_id)
        .where(Badge.customer_id == c.id, Punch.kind == "punch", effective.kiosk_clause(c.id),
               Badge.valid_from <= effective.WHEN,
               or_(Badge.valid_to.is_(None), Badge.valid_to > effective.WHEN))
        .order_by(Punch.id.desc()).limit(100)).all()
    return _render(request, "hr_punches.html", user, session, scope, c, settings, rows=rows)


def _period(first: date | None, last: date | None) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    return first or today.replace(day=1), last or today


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                    user: HRReader, first: date | None = None, last: date | None = None):
    c = _customer(request, session, scope)
    first, last = _period(first, last)
    error, items = None, []
    try:
        emps = employees.listing(session, scope, c.id)
        for s in timesheets.compute(session, c.id, emps, first, last, settings):
            items += [(s.employee, d, code) for d, code in s.exceptions]
    except HRError as e:
        error = str(e)
    return _render(request, "hr_exceptions.html", user, session, scope, c, settings, items=items, first=first,
                   last=last, error=error)


@router.get("/corrections", response_class=HTMLResponse)
def corrections_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                     user: HRReader):
    c = _customer(request, session, scope)
    tenant = Scope.only([c.id])
    names = {e.id: f"{e.last_name} {e.first_name}" for e in employees.listing(session, tenant, c.id)}
    return _render(request, "hr_corrections.html", user, session, scope, c, settings,
                   corrections=corrections.listing(session, tenant), names=names,
                   events=audit.events(session, c.id, limit=100))


@router.get("/periods", response_class=HTMLResponse)
def periods_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                 user: HRReader):
    c = _customer(request, session, scope)
    today = datetime.now(UTC).date()
    prev = today.replace(day=1) - timedelta(days=1)
    return _render(request, "hr_periods.html", user, session, scope, c, settings,
                   locks=periods.listing(session, c.id), default_year=prev.year, default_month=prev.month)


@router.post("/periods")
def periods_post(request: Request, session: SessionDep, scope: TenantScope, user: HRAdmin,
                 customer_id: FormInt, year: FormInt, month: FormInt, op: FormStr, reason: FormStr = ""):
    scope.check(customer_id, "customer")
    try:
        if op == "close":
            periods.close(session, customer_id, year, month, user.actor)
        else:
            periods.reopen(session, customer_id, year, month, user.actor, reason)
    except HRError as e:
        session.rollback()
        return _back("/hr/periods", customer_id, err=str(e))
    session.commit()
    return _back("/hr/periods", customer_id, msg=f"{year}-{month:02d}: {op}")


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                 user: HRReader):
    c = _customer(request, session, scope)
    today = datetime.now(UTC).date()
    first, last = timesheets.month_period(today.year, today.month)
    return _render(request, "hr_exports.html", user, session, scope, c, settings,
                   employees=employees.listing(session, scope, c.id), first=first, last=last)


@router.get("/exports/download")
def exports_download(request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope,
                     user: HRReader, first: date, last: date, format: str = "xlsx", customer_id: int | None = None,
                     employee_id: str = "", lang: str = "fr"):
    try:
        ids = [int(employee_id)] if employee_id else None
        f = export_service.build(session, scope, customer_id, first, last, format, ids, lang_of(lang), settings)
    except HRError as e:
        raise HTTPException(e.status_code, str(e)) from None
    return Response(f.content, media_type=f.media_type,
                    headers={"Content-Disposition": content_disposition(f.filename)})
