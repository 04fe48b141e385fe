"""HR web pages (server-rendered, in the page's language through gettext:
?lang=fr|de|en, the user's or the customer's language). Forms post back here
and redirect (POST/redirect/GET), or re-render with the typed values and a
message per field (422); the security layer checks the session cookie and the
CSRF field of each form."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Field, Session, SQLModel, col, select
from starlette.concurrency import run_in_threadpool

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import (
    current_language,
    format_datetime,
    format_month,
    format_weekday,
    lazy_gettext,
)
from noxus.core.i18n import gettext as _
from noxus.core.security import HRAdmin, HRReader, Principal, Scope, TenantScope
from noxus.core.types import id_of
from noxus.hr import (
    absences,
    audit,
    badges,
    balances,
    charts,
    contracts,
    corrections,
    effective,
    employees,
    export_service,
    jobs,
    payroll_service,
    periods,
    presence,
    timesheets,
)
from noxus.hr.errors import HRError, NotFound
from noxus.hr.exports import exception_label
from noxus.hr.models import Employee
from noxus.hr.schemas import (
    AbsenceCreate,
    BadgeAssign,
    CorrectionCreate,
    EmployeeCreate,
    OpeningBalanceSet,
    ScheduleCreate,
)
from noxus.ingest.models import Punch
from noxus.tenancy.models import Customer
from noxus.web import flash
from noxus.web.errors import PageError
from noxus.web.forms import errors_by_field, validate_form
from noxus.web.templating import templates

router = APIRouter(prefix="/hr", include_in_schema=False)
FormStr = Annotated[str, Form()]
FormInt = Annotated[int, Form()]
FormDate = Annotated[date, Form()]

LABELS = {
    "lost": lazy_gettext("Lost"),
    "replaced": lazy_gettext("Replaced"),
    "revoked": lazy_gettext("Revoked"),
    "active": lazy_gettext("Active"),
    "add": lazy_gettext("Add"),
    "move": lazy_gettext("Move"),
    "void": lazy_gettext("Void"),
    "exception": lazy_gettext("Open exception"),
    "open_shift": lazy_gettext("Shift still open"),
    "unknown_badge": lazy_gettext("Unknown badge"),
    "absence_overlap": lazy_gettext("Absence on a day with punches"),
}
MESSAGES = {
    "employee_created": lazy_gettext("Employee created"),
    "correction_saved": lazy_gettext("Correction saved"),
    "badge_assigned": lazy_gettext("Badge assigned"),
    "badge_ended": lazy_gettext("Badge ended"),
    "absence_saved": lazy_gettext("Absence saved"),
    "absence_cancelled": lazy_gettext("Absence cancelled"),
    "schedule_saved": lazy_gettext("Working time saved"),
    "opening_saved": lazy_gettext("Opening balance saved"),
    "month_closed": lazy_gettext("Month closed"),
    "month_reopened": lazy_gettext("Month reopened"),
}


def label(key: str) -> str:
    if key in LABELS:
        return str(LABELS[key])
    return exception_label(key)


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
    c = session.exec(select(Customer).order_by(col(Customer.id))).first()
    if c is None:
        raise HTTPException(404, "no customer yet: create one first")
    return c


def _render(
    request: Request,
    name: str,
    user: Principal,
    session: Session,
    scope: Scope,
    customer: Customer,
    settings,
    status_code: int = 200,
    **ctx,
) -> HTMLResponse:
    customers = session.exec(scope.where(select(Customer), Customer.id).order_by(Customer.name)).all()
    zone = effective.customer_zone(session, id_of(customer), settings)
    msg = request.query_params.get("msg") or ""
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "customer": customer,
            "customers": customers if scope.all else [],
            "lang": current_language(),
            "label": label,
            "zone": zone,
            "csrf": user.csrf_token or "",
            "msg": str(MESSAGES[msg]) if msg in MESSAGES else None,
            "err": ctx.pop("err", None) or flash.read(request, "err"),
            "cq": f"customer_id={customer.id}",
            "wd": format_weekday,
            "fmt_local": lambda dt: _local(dt, zone),
            "hours": timesheets.hours,
            **ctx,
        },
        status_code=status_code,
    )


@dataclass
class _Page:
    """What an HR page is answered with (FastAPI fills it: a class as dependency): the request,
    the session, the settings, the tenant scope and the reader; the customer the page is about
    (`_customer`) once it is asked for."""

    request: Request
    session: SessionDep
    settings: SettingsDep
    scope: TenantScope
    user: HRReader

    @cached_property
    def customer(self) -> Customer:
        return _customer(self.request, self.session, self.scope)

    def render(self, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        c = self.customer
        return _render(
            self.request, name, self.user, self.session, self.scope, c, self.settings, status_code, **ctx
        )


Page = Annotated[_Page, Depends()]


def _local(dt: datetime | None, zone: ZoneInfo) -> str:
    return format_datetime(dt, zone) if dt else "—"


def _error_text(e: Exception) -> str:
    """A refusal for a banner: our own messages as they are, a schema's errors as sentences of
    the catalogs (never Pydantic's text)."""
    if isinstance(e, ValidationError):
        return " ".join(dict.fromkeys(errors_by_field(e).values()))
    return str(e)


async def _fields(request: Request) -> dict[str, str]:
    """The posted form as typed (the CSRF field is the security layer's; no form takes a file)."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}


def _back(path: str, customer_id: int, **params) -> RedirectResponse:
    """Redirect after a POST; an error banner travels signed (noxus.web.flash), a message as a known key."""
    err = params.pop("err", None)
    q = {
        "customer_id": customer_id,
        **{k: v for k, v in params.items() if v is not None},
        **flash.params(err=err),
    }
    return RedirectResponse(f"{path}?{urlencode(q)}", status_code=303)


@router.get("", response_class=HTMLResponse)
def hr_home(request: Request, user: HRReader):
    q = request.url.query
    return RedirectResponse("/hr/employees" + (f"?{q}" if q else ""), status_code=303)


# --- employees --------------------------------------------------------------------------------


@router.get("/employees", response_class=HTMLResponse)
def employees_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    q: str = "",
):
    return _employees_view(request, session, settings, scope, user, _customer(request, session, scope), q)


def _employees_view(
    request, session, settings, scope, user, c: Customer, q: str = "", status_code: int = 200, **ctx
) -> HTMLResponse:
    emps = employees.listing(session, scope, id_of(c), q)
    current = {b.employee_id: b.uid for b in badges.listing(session, scope) if b.valid_to is None}
    return _render(
        request,
        "hr_employees.html",
        user,
        session,
        scope,
        c,
        settings,
        status_code=status_code,
        employees=emps,
        q=q,
        current_badge=current,
        today=date.today(),
        **ctx,
    )


class EmployeeForm(SQLModel):
    """The employee form as people fill it: hours per week as typed ("42", "40,5")."""

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    personnel_number: str = Field(min_length=1, max_length=40)
    weekly_hours: float = Field(default=42, ge=0, le=168)
    active_from: date


@router.post("/employees", response_class=HTMLResponse)
async def employees_create(
    request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: HRAdmin
):
    raw = await _fields(request)
    customer_id = int(raw["customer_id"]) if raw.get("customer_id", "").isdigit() else None
    if customer_id is None:
        raise HTTPException(404, "customer not found")
    scope.check(customer_id, "customer")
    if "weekly_hours" in raw:
        raw["weekly_hours"] = raw["weekly_hours"].replace(",", ".")
    data, errors = validate_form(EmployeeForm, raw)
    emp = None
    if data is not None:
        form = EmployeeForm.model_validate(data)
        try:
            emp = employees.create(
                session,
                customer_id,
                EmployeeCreate(
                    first_name=form.first_name,
                    last_name=form.last_name,
                    personnel_number=form.personnel_number,
                    weekly_minutes=round(form.weekly_hours * 60),
                    active_from=form.active_from,
                ),
                user.actor,
            )
        except HRError as e:
            session.rollback()
            errors = {"personnel_number": str(e)}
    if emp is None:
        return await run_in_threadpool(
            _employees_form_again, request, session, settings, scope, user, customer_id, raw, errors
        )
    session.commit()
    return _back(f"/hr/employees/{emp.id}", customer_id or emp.customer_id, msg="employee_created")


def _employees_form_again(
    request, session, settings, scope, user, customer_id, values, errors
) -> HTMLResponse:
    c = session.get(Customer, customer_id) if customer_id else None
    if c is None:
        raise HTTPException(404, "customer not found")
    return _employees_view(
        request, session, settings, scope, user, c, values=values, errors=errors, status_code=422
    )


@router.get("/employees/{employee_id}", response_class=HTMLResponse)
def employee_page(
    employee_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    month: str | None = None,
):
    return _employee_view(request, session, settings, scope, user, employee_id, month)


def _employee_view(
    request,
    session,
    settings,
    scope,
    user,
    employee_id: int,
    month: str | None,
    status_code: int = 200,
    **ctx,
) -> HTMLResponse:
    emp = _employee_or_404(session, scope, employee_id)
    employees.record_staff_read(session, user, emp, "page")
    c = session.get(Customer, emp.customer_id)
    year, mon = _month(month)
    first, last = timesheets.month_period(year, mon)
    # the last six months, the balance carried from one to the next (the chart), this month last
    chain, carried = [], None
    for i in range(5, -1, -1):
        y, m = year, mon - i
        while m < 1:
            y, m = y - 1, m + 12
        [ms] = balances.months(
            session, emp.customer_id, [emp], y, m, settings, current_language(), carried=carried
        )
        carried = {id_of(emp): ms.carried_out_seconds}
        chain.append(ms)
    summary = chain[-1]
    sheet = summary.sheet
    assert sheet is not None, "balances.months keeps each month's timesheet"
    punches_by_day: dict[date, list] = {}
    for p in sheet.punches:
        punches_by_day.setdefault(p.at.astimezone(sheet.zone).date(), []).append(p)
    kinds = absences.ensure_kinds(session, emp.customer_id)
    session.commit()
    scheds = contracts.schedules(session, id_of(emp))
    current = [x for x in scheds if x.valid_from <= last]
    weeks = [
        (w["week"].split("-")[1], w["target_seconds"] / 3600, w["worked_seconds"] / 3600)
        for w in sheet.weeks()
    ]
    return _render(
        request,
        "hr_employee.html",
        user,
        session,
        scope,
        c,
        settings,
        status_code=status_code,
        emp=emp,
        sheet=sheet,
        summary=summary,
        punches_by_day=punches_by_day,
        month=f"{year}-{mon:02d}",
        prev_m=(first - timedelta(days=1)).strftime("%Y-%m"),
        next_m=(last + timedelta(days=1)).strftime("%Y-%m"),
        closed=periods.is_closed(session, emp.customer_id, year, mon),
        badges=badges.listing(session, scope, employee_id=emp.id),
        corrections=corrections.listing(session, scope, emp.id, 50),
        kinds=kinds,
        kinds_by_id={k.id: k for k in kinds},
        kind_name=absences.kind_name,
        portions=[(k, str(v)) for k, v in absences.PORTION_NAMES.items()],
        portion_names={k: str(v) for k, v in absences.PORTION_NAMES.items()},
        absence_rows=absences.listing(
            session, scope, emp.id, first - timedelta(days=62), last + timedelta(days=366)
        ),
        schedule=current[-1] if current else (scheds[0] if scheds else None),
        opening=contracts.opening(session, id_of(emp)),
        chart_weeks=charts.weekly_bars(
            weeks,
            _("Target and worked time per week, %(month)s", month=format_month(year, mon)),
            _("hours"),
            _("Target"),
            _("Worked"),
        ),
        chart_balance=charts.balance_line(
            [(f"{m.month:02d}.{m.year % 100:02d}", m.carried_out_seconds / 3600) for m in chain],
            _("Balance at the end of each month"),
            _("hours"),
            _("Balance carried"),
        ),
        **ctx,
    )


@dataclass
class _Post:
    """An HR admin's post of a form of the employee page (FastAPI fills it: a class as dependency)."""

    request: Request
    session: SessionDep
    settings: SettingsDep
    scope: TenantScope
    user: HRAdmin


Post = Annotated[_Post, Depends()]


@dataclass(frozen=True)
class _Outcome:
    saved: str | None  # the message once saved (MESSAGES); None: refused
    again: dict = field(default_factory=dict)  # refused: the form's values and messages
    status_code: int = 422


async def _employee_form(post: _Post, employee_id: int, save) -> Response:
    """A form of the employee page: `save(post, employee, fields)` stores it or says why not.
    Saved: committed and back to the page with its message (POST/redirect/GET); refused: the
    page again with what was typed and a message per field."""
    p = post
    emp = await run_in_threadpool(_employee_or_404, p.session, p.scope, employee_id)
    fields = await _fields(p.request)
    month = fields.pop("month", "") or None
    out: _Outcome = await run_in_threadpool(save, post, emp, fields)
    if out.saved:
        p.session.commit()
        return _back(f"/hr/employees/{emp.id}", emp.customer_id, month=month, msg=out.saved)
    view = (p.request, p.session, p.settings, p.scope, p.user, id_of(emp), month, out.status_code)
    return await run_in_threadpool(_employee_view, *view, **out.again)


def _employee_or_404(session, scope, employee_id) -> Employee:
    try:
        return employees.get(session, scope, employee_id)
    except HRError as e:
        raise HTTPException(e.status_code, str(e)) from None


def _month(value: str | None) -> tuple[int, int]:
    """`2026-03` -> (2026, 3); anything else is a 422 page that says what to type."""
    if value:
        try:
            y, m = (int(x) for x in value.split("-"))
        except ValueError:
            y, m = 0, 0
        if not (2000 <= y <= 2100 and 1 <= m <= 12):
            raise HTTPException(
                422,
                PageError(
                    _(
                        "%(value)s is not a month: give it as 2026-03 (a year 2000-2100 and a month 1-12)",
                        value=value,
                    )
                ),
            )
        return y, m
    today = datetime.now(UTC).date()
    return today.year, today.month


class CorrectionForm(SQLModel):
    action: Literal["add", "move", "void"]
    reason: str = Field(min_length=3, max_length=500)
    at: datetime | None = None  # the datetime-local field: the site's wall clock
    ref: str = ""  # the punch to move/void: p<raw punch id> or c<added punch's correction id>


def _save_correction(post: _Post, emp: Employee, form: CorrectionForm) -> dict[str, str]:
    """Store the correction; -> {} or a message per field (the caller re-renders the form)."""
    session, settings = post.session, post.settings
    punch_id = int(form.ref[1:]) if form.ref[:1] == "p" and form.ref[1:].isdigit() else None
    target_id = int(form.ref[1:]) if form.ref[:1] == "c" and form.ref[1:].isdigit() else None
    if form.action != "add" and punch_id is None and target_id is None:
        return {"ref": _("Choose one of the proposed punches.")}
    if form.action != "void" and form.at is None:
        return {"at": _("This field is required.")}
    ts = None
    if form.at is not None and form.action != "void":
        at = form.at
        if at.tzinfo is None:  # in the October DST hour, the first (summer time) occurrence
            at = at.replace(tzinfo=effective.employee_zone(session, emp, settings))
        ts = at.astimezone(UTC)
    where = "ref" if form.action == "void" else "at"
    try:
        corrections.create(
            session,
            post.scope,
            CorrectionCreate(
                employee_id=id_of(emp),
                action=form.action,
                punch_id=punch_id,
                target_id=target_id,
                ts=ts,
                reason=form.reason,
            ),
            post.user.actor,
            settings,
        )
    except NotFound:
        session.rollback()
        return {"ref": _("Choose one of the proposed punches.")}
    except (HRError, ValueError) as e:
        session.rollback()
        return {where: _error_text(e)}
    return {}


def _correction(post: _Post, emp: Employee, raw: dict[str, str]) -> _Outcome:
    data, errors = validate_form(CorrectionForm, raw)
    if raw.get("action") != "void" and not raw.get("at", "").strip():
        errors.setdefault("at", _("This field is required."))  # with the other fields' messages
    if data is not None and not errors:
        errors = _save_correction(post, emp, CorrectionForm.model_validate(data))
    fix_form = "add" if raw.get("action") == "add" else "move"
    again = {"fix_form": fix_form, "fix_values": raw, "fix_errors": errors}
    return _Outcome(None if errors else "correction_saved", again)


@router.post("/employees/{employee_id}/corrections", response_class=HTMLResponse)
async def correction_create(employee_id: int, post: Post):
    """Add a missing punch, or move or void one; a refusal re-renders the employee page with a
    message at the field and what was typed (422)."""
    return await _employee_form(post, employee_id, _correction)


# --- absences, working time, opening balance ------------------------------------------------------


class AbsenceForm(SQLModel):
    type_id: int
    first: date
    last: date | None = None
    portion: str = "day"
    hours: str = ""
    reason: str = Field(default="", max_length=500)


def _minutes(text: str) -> int | None:
    """`4:30`, `4.5` or `4,5` hours -> 270 minutes; None if unreadable."""
    text = text.strip().replace(",", ".")
    try:
        if ":" in text:
            h, m = text.split(":")
            return int(h) * 60 + int(m)
        return round(float(text) * 60)
    except ValueError:
        return None


def _absence(post: _Post, emp: Employee, raw: dict[str, str]) -> _Outcome:
    form, errors = validate_form(AbsenceForm, raw)
    minutes = 0
    if form is not None and form.portion == "hours":
        minutes = _minutes(form.hours) or 0
        if not minutes:
            errors["minutes"] = _("give the hours of absence per day (between 0:01 and 24:00)")
    err, status_code = _("The absence was not saved: correct the marked fields."), 422
    if form is not None and not errors:
        try:
            absences.create(
                post.session,
                post.scope,
                AbsenceCreate(
                    employee_id=id_of(emp),
                    type_id=form.type_id,
                    first=form.first,
                    last=form.last or form.first,
                    portion=form.portion,
                    minutes=minutes,
                    reason=form.reason,
                ),
                post.user.actor,
            )
            return _Outcome("absence_saved")
        except HRError as e:
            post.session.rollback()
            err, status_code = _error_text(e), e.status_code
    return _Outcome(None, {"err": err, "form_values": raw, "form_errors": errors}, status_code)


@router.post("/employees/{employee_id}/absences", response_class=HTMLResponse)
async def absence_create(employee_id: int, post: Post):
    """Enter an absence; on bad input the page comes back with what was typed and a message per field."""
    return await _employee_form(post, employee_id, _absence)


@router.post("/employees/{employee_id}/absences/{absence_id}/cancel")
def absence_cancel(
    employee_id: int,
    absence_id: int,
    session: SessionDep,
    scope: TenantScope,
    user: HRAdmin,
    reason: FormStr = "",
    month: FormStr = "",
):
    emp = _employee_or_404(session, scope, employee_id)
    try:
        absences.cancel(session, scope, absence_id, user.actor, reason)
    except HRError as e:
        session.rollback()
        return _back(f"/hr/employees/{emp.id}", emp.customer_id, month=month or None, err=_error_text(e))
    session.commit()
    return _back(f"/hr/employees/{emp.id}", emp.customer_id, month=month or None, msg="absence_cancelled")


def _schedule(post: _Post, emp: Employee, raw: dict[str, str]) -> _Outcome:
    weekly = _minutes(str(raw.get("weekly_hours") or "42"))
    data: dict[str, object] = {
        k: raw.get(k) for k in ("valid_from", "percent", "working_days", "vacation_days")
    }
    data["weekly_minutes"] = weekly if weekly is not None else "x"
    form, errors = validate_form(ScheduleCreate, data)
    if form is not None:
        try:
            contracts.set_schedule(post.session, post.scope, id_of(emp), form, post.user.actor)
            return _Outcome("schedule_saved")
        except HRError as e:
            post.session.rollback()
            errors = {"percent" if not 0 <= form.percent <= 100 else "__all__": str(e)}
    return _Outcome(None, {"err": next(iter(errors.values())), "form_values": raw, "form_errors": errors})


@router.post("/employees/{employee_id}/schedule", response_class=HTMLResponse)
async def schedule_set(employee_id: int, post: Post):
    return await _employee_form(post, employee_id, _schedule)


class OpeningForm(SQLModel):
    tracked_from: date
    overtime: str = "0:00"
    vacation_days: float = Field(default=0, ge=-366, le=366)


def _opening(post: _Post, emp: Employee, raw: dict[str, str]) -> _Outcome:
    if "vacation_days" in raw:
        raw["vacation_days"] = raw["vacation_days"].replace(",", ".")
    data, errors = validate_form(OpeningForm, raw)
    if data is not None:
        form = OpeningForm.model_validate(data)
        sign = -1 if form.overtime.strip().startswith("-") else 1
        minutes = _minutes(form.overtime.strip().lstrip("+-"))
        if minutes is None:
            errors = {"overtime": _("%(value)s is not a duration like 12:30", value=form.overtime)}
        else:
            try:
                contracts.set_opening(
                    post.session,
                    post.scope,
                    id_of(emp),
                    OpeningBalanceSet(
                        tracked_from=form.tracked_from,
                        overtime_minutes=sign * minutes,
                        vacation_days=form.vacation_days,
                    ),
                    post.user.actor,
                )
            except (HRError, ValueError) as e:
                post.session.rollback()
                errors = {"tracked_from": _error_text(e)}
    return _Outcome(None if errors else "opening_saved", {"opening_values": raw, "opening_errors": errors})


@router.post("/employees/{employee_id}/opening", response_class=HTMLResponse)
async def opening_set(employee_id: int, post: Post):
    return await _employee_form(post, employee_id, _opening)


# --- badges -------------------------------------------------------------------------------------


@router.get("/badges", response_class=HTMLResponse)
def badges_page(
    page: Page,
):
    return _badges_page(page.request, page.session, page.settings, page.scope, page.user)


def _badges_page(
    request,
    session,
    settings,
    scope,
    user,
    customer_id: int | None = None,
    values: dict | None = None,
    errors: dict | None = None,
) -> HTMLResponse:
    c = session.get(Customer, customer_id) if customer_id else _customer(request, session, scope)
    if c is None:
        raise HTTPException(404, "customer not found")
    tenant = Scope.only([id_of(c)])
    all_badges = badges.listing(session, tenant)
    names = {e.id: f"{e.last_name} {e.first_name}" for e in employees.listing(session, tenant, c.id)}
    return _render(
        request,
        "hr_badges.html",
        user,
        session,
        scope,
        c,
        settings,
        badges=all_badges,
        names=names,
        unknown=badges.unknown(session, scope, c.id),
        prefill=request.query_params.get("uid", ""),
        values=values or {},
        errors=errors or {},
        status_code=422 if errors else 200,
    )


class BadgeForm(SQLModel):
    uid: str = Field(min_length=1, max_length=40)
    employee_id: int
    valid_from: datetime | None = None


@router.post("/badges", response_class=HTMLResponse)
async def badges_assign(
    request: Request, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: HRAdmin
):
    raw = await _fields(request)
    customer_id = int(raw["customer_id"]) if raw.get("customer_id", "").isdigit() else None
    scope.check(customer_id, "customer")
    data, errors = validate_form(BadgeForm, {k: v for k, v in raw.items() if k != "customer_id"})
    if data is not None:
        form = BadgeForm.model_validate(data)
        start = form.valid_from
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        try:
            badges.assign(
                session,
                scope,
                BadgeAssign(uid=form.uid, employee_id=form.employee_id, valid_from=start),
                user.actor,
            )
        except ValidationError as e:
            session.rollback()
            errors = {"uid": " ".join(dict.fromkeys(errors_by_field(e).values()))}
        except (HRError, ValueError) as e:
            session.rollback()
            errors = {"uid": str(e)}
    if errors:
        return await run_in_threadpool(
            _badges_page, request, session, settings, scope, user, customer_id, raw, errors
        )
    session.commit()
    return _back("/hr/badges", customer_id or 0, msg="badge_assigned")


@router.post("/badges/{badge_id}/end")
def badges_end(
    badge_id: int, request: Request, session: SessionDep, scope: TenantScope, user: HRAdmin, state: FormStr
):
    try:
        b = badges.get(session, scope, badge_id)
        badges.end(session, b, state, user.actor)
    except HRError as e:
        session.rollback()
        if e.status_code == 404:
            raise HTTPException(404, str(e)) from None
        return _back("/hr/badges", scope.own_customer_id or 0, err=_error_text(e))
    session.commit()
    return _back("/hr/badges", b.customer_id, msg="badge_ended")


# --- live punches, exceptions, corrections, periods, exports ------------------------------------


@router.get("/punches", response_class=HTMLResponse)
def punches_page(
    page: Page,
):
    c = page.customer
    from sqlalchemy import or_

    from noxus.hr.models import Badge

    rows = page.session.exec(
        select(Punch, Employee)
        .join(Badge, col(Badge.uid) == col(Punch.badge_uid))
        .join(Employee, col(Employee.id) == col(Badge.employee_id))
        .where(
            Badge.customer_id == c.id,
            Punch.kind == "punch",
            effective.kiosk_clause(id_of(c)),
            Badge.valid_from <= effective.WHEN,
            or_(col(Badge.valid_to).is_(None), col(Badge.valid_to) > effective.WHEN),
        )
        .order_by(col(Punch.id).desc())
        .limit(100)
    ).all()
    return page.render("hr_punches.html", rows=rows)


def _period(first: date | None, last: date | None) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    return first or today.replace(day=1), last or today


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(
    page: Page,
    first: date | None = None,
    last: date | None = None,
):
    c = page.customer
    first, last = _period(first, last)
    error, items = None, []
    try:
        emps = employees.listing(page.session, page.scope, c.id)
        for s in timesheets.compute(page.session, id_of(c), emps, first, last, page.settings):
            items += [(s.employee, d, code) for d, code in s.exceptions]
    except HRError as e:
        error = str(e)
    return page.render(
        "hr_exceptions.html",
        items=items,
        first=first,
        last=last,
        error=error,
    )


@router.get("/corrections", response_class=HTMLResponse)
def corrections_page(
    page: Page,
):
    c = page.customer
    tenant = Scope.only([id_of(c)])
    names = {e.id: f"{e.last_name} {e.first_name}" for e in employees.listing(page.session, tenant, c.id)}
    return page.render(
        "hr_corrections.html",
        corrections=corrections.listing(page.session, tenant),
        names=names,
        events=audit.events(page.session, id_of(c), limit=100),
    )


@router.get("/periods", response_class=HTMLResponse)
def periods_page(
    page: Page,
    month: str | None = None,
):
    """The close of a month: pick it, review its checklist, acknowledge, close."""
    c = page.customer
    today = datetime.now(UTC).date()
    prev = today.replace(day=1) - timedelta(days=1)
    year, mon = _month(month) if month else (prev.year, prev.month)
    checks, error = None, None
    if month:
        try:
            checks, _s = periods.checklist(page.session, id_of(c), year, mon, page.settings)
        except HRError as e:
            error = str(e)
    return page.render(
        "hr_periods.html",
        locks=periods.listing(page.session, id_of(c)),
        month=f"{year}-{mon:02d}",
        month_name=format_month(year, mon),
        checks=checks,
        err=error,
        is_closed=periods.is_closed(page.session, id_of(c), year, mon),
    )


@router.post("/periods")
def periods_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRAdmin,
    customer_id: FormInt,
    year: FormInt,
    month: FormInt,
    op: FormStr,
    reason: FormStr = "",
    acknowledged: FormStr = "",
):
    scope.check(customer_id, "customer")
    try:
        if op == "close":
            periods.close_month(
                session, customer_id, year, month, user.actor, settings, acknowledged=acknowledged == "yes"
            )
        else:
            periods.reopen(session, customer_id, year, month, user.actor, reason)
    except HRError as e:
        session.rollback()
        return _back("/hr/periods", customer_id, month=f"{year}-{month:02d}", err=_error_text(e))
    session.commit()
    return _back("/hr/periods", customer_id, msg="month_closed" if op == "close" else "month_reopened")


# --- present now ------------------------------------------------------------------------------------


@router.get("/present", response_class=HTMLResponse)
def present_page(
    page: Page,
):
    """Who is in right now; the list refreshes itself (static/hr.js polls /hr/present/rows)."""
    c = page.customer
    return page.render(
        "hr_present.html",
        rows=presence.present(page.session, id_of(c), page.settings),
        now=datetime.now(UTC),
    )


@router.get("/present/rows", response_class=HTMLResponse)
def present_rows(
    page: Page,
):
    c = page.customer
    zone = effective.customer_zone(page.session, id_of(c), page.settings)
    return templates.TemplateResponse(
        page.request,
        "hr_present_rows.html",
        {
            "rows": presence.present(page.session, id_of(c), page.settings),
            "now": datetime.now(UTC),
            "fmt_local": lambda dt: _local(dt, zone),
            "hours": timesheets.hours,
        },
    )


# --- team: balances and charts of every employee ------------------------------------------------------


@router.get("/team", response_class=HTMLResponse)
def team_page(
    page: Page,
    month: str | None = None,
):
    c = page.customer
    year, mon = _month(month)
    emps = payroll_service._employees(page.session, id_of(c), year, mon)
    chain, carried = [], None
    for i in range(2, -1, -1):
        y, m = year, mon - i
        while m < 1:
            y, m = y - 1, m + 12
        ms = balances.months(
            page.session, id_of(c), emps, y, m, page.settings, current_language(), carried=carried
        )
        carried = {id_of(x.employee): x.carried_out_seconds for x in ms}
        chain.append(ms)
    rows = chain[-1]
    weeks: dict[str, list[float]] = {}
    for x in rows:
        assert x.sheet is not None, "balances.months keeps each month's timesheet"
        for w in x.sheet.weeks():
            acc = weeks.setdefault(w["week"].split("-")[1], [0.0, 0.0])
            acc[0] += w["target_seconds"] / 3600
            acc[1] += w["worked_seconds"] / 3600
    first, last = timesheets.month_period(year, mon)
    return page.render(
        "hr_team.html",
        rows=rows,
        month=f"{year}-{mon:02d}",
        prev_m=(first - timedelta(days=1)).strftime("%Y-%m"),
        next_m=(last + timedelta(days=1)).strftime("%Y-%m"),
        chart_weeks=charts.weekly_bars(
            [(k, v[0], v[1]) for k, v in weeks.items()],
            _("Team: target and worked time per week, %(month)s", month=format_month(year, mon)),
            _("hours"),
            _("Target"),
            _("Worked"),
        ),
        chart_balance=charts.balance_line(
            [
                (f"{ms[0].month:02d}.{ms[0].year % 100:02d}", sum(x.carried_out_seconds for x in ms) / 3600)
                for ms in chain
                if ms
            ],
            _("Team: sum of the balances at the end of each month"),
            _("hours"),
            _("Balance carried"),
        ),
    )


# --- exports -----------------------------------------------------------------------------------------


@router.get("/exports", response_class=HTMLResponse)
def exports_page(
    page: Page,
):
    c = page.customer
    today = datetime.now(UTC).date()
    first, last = timesheets.month_period(today.year, today.month)
    prev = today.replace(day=1) - timedelta(days=1)
    return page.render(
        "hr_exports.html",
        employees=employees.listing(page.session, page.scope, c.id),
        first=first,
        last=last,
        prev=prev,
        jobs=jobs.recent(page.session, id_of(c)),
        job_state=jobs.state,
    )


@router.get("/exports/download")
def exports_download(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    first: date,
    last: date,
    format: str = "xlsx",
    customer_id: int | None = None,
    employee_id: str = "",
    lang: str = "",
):
    ids = [int(employee_id)] if employee_id else None
    try:
        f = export_service.build(
            session, scope, customer_id, first, last, format, ids, lang, settings, user.actor
        )
    except HRError as e:
        raise HTTPException(e.status_code, PageError(str(e))) from None
    session.commit()
    return export_service.response(f)


@router.post("/payroll")
def payroll_start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: FormInt,
    year: FormStr = "",
    month: FormStr = "",
    kind: FormStr = "payroll",
    format: FormStr = "xlsx",
):
    """Payroll exports run in the background: a job row, a worker thread, a page with its progress."""
    scope.check(customer_id, "customer")
    lang = current_language()
    try:
        params = payroll_service.check(
            {"kind": kind, "year": year, "month": month, "format": format, "lang": lang}
        )
        job = jobs.submit(session, customer_id, params["kind"], params, user.actor)
    except HRError as e:
        session.rollback()
        return _back("/hr/exports", customer_id, err=_error_text(e))
    session.commit()
    jobs.start(session, job, settings, lang)
    return _back(f"/hr/payroll/{job.id}", customer_id)


@router.get("/payroll/{job_id}", response_class=HTMLResponse)
def payroll_job_page(
    job_id: int,
    page: Page,
):
    c = page.customer
    job = _job_or_404(page.session, id_of(c), job_id)
    return page.render("hr_job.html", job=job, state=jobs.state(job))


@router.get("/payroll/{job_id}/progress", response_class=HTMLResponse)
def payroll_job_progress(
    job_id: int, request: Request, session: SessionDep, scope: TenantScope, user: HRReader
):
    c = _customer(request, session, scope)
    job = _job_or_404(session, id_of(c), job_id)
    return templates.TemplateResponse(
        request, "hr_job_progress.html", {"job": job, "state": jobs.state(job), "cq": f"customer_id={c.id}"}
    )


@router.get("/payroll/{job_id}/download")
def payroll_job_download(
    job_id: int, request: Request, session: SessionDep, scope: TenantScope, user: HRReader
):
    c = _customer(request, session, scope)
    try:
        f = jobs.file(_job_or_404(session, id_of(c), job_id))
    except HRError as e:
        raise HTTPException(e.status_code, PageError(str(e))) from None
    return export_service.response(f)


def _job_or_404(session, customer_id: int, job_id: int):
    try:
        return jobs.get(session, customer_id, job_id)
    except HRError as e:
        raise HTTPException(404, PageError(str(e))) from None
