"""The kiosk's page (/fleet/{id}) and what staff do from it: move it along its life cycle
(install at a site, flag, schedule a retrieval, retrieved, broken…), send a command (reboot,
enrollment mode, push config), set the firmware it should run; and registering a new kiosk
(/fleet/register). Every action is confirmed on a page before it is done, then audited."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import field_validator
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.main import SQLModelConfig
from starlette.datastructures import FormData

from noxus.core.audit import record as audit
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import format_date, format_decimal, lazy_gettext
from noxus.core.i18n import gettext as _
from noxus.core.security import Principal, Role, StaffOnly, require_roles
from noxus.core.settings import Settings
from noxus.core.types import utcnow
from noxus.fleet import commands, deployments, monitor, service, telemetry
from noxus.fleet import status as lifecycle
from noxus.fleet.labels import CONNECTION_NAMES, STATUS_NAMES
from noxus.fleet.models import Kiosk, KioskCreate, KioskStatus
from noxus.tenancy.models import Customer, Site
from noxus.web.charts import line_chart
from noxus.web.errors import PageError
from noxus.web.forms import validate_form
from noxus.web.templating import templates

router = APIRouter(prefix="/fleet", include_in_schema=False)
# who acts on kiosks: NOXUS administrators and technicians
FleetOperator = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.TECHNICIAN))]

COMMAND_NAMES = {
    "reboot": lazy_gettext("Reboot"),
    "enroll": lazy_gettext("Enrollment mode (next tap enrolls a badge)"),
    "push_config": lazy_gettext("Push configuration (time zone, badge names)"),
}
MESSAGES = {
    "status": lazy_gettext("The status was changed."),
    "command": lazy_gettext("The command was sent to the kiosk."),
    "firmware": lazy_gettext("The expected firmware was saved."),
    "registered": lazy_gettext("The kiosk was registered (in stock)."),
}


class StatusForm(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)
    status: KioskStatus
    site_id: int | None = None
    at: datetime | None = None  # site wall clock, datetime-local
    scheduled_for: datetime | None = None
    reason: str = Field(default="", max_length=500)


class RegisterForm(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=120)
    serial: str | None = Field(default=None, max_length=64)
    model: str = Field(default="", max_length=64)
    firmware_target: str | None = Field(default=None, max_length=64)

    @field_validator("id")
    @classmethod
    def _kiosk_id(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", v):
            raise ValueError(_("1 to 32 letters, digits, - or _; its MQTT name."))
        return v


def _kiosk(session, kiosk_id: str) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise HTTPException(404, detail=PageError(_("Kiosk %(id)s is not in the register.", id=kiosk_id)))
    return kiosk


def _names(session, model, ids):
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {row.id: row.name for row in session.exec(select(model).where(model.id.in_(ids)))}


def _site_options(session) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Site, Customer)
        .join(Customer, col(Customer.id) == col(Site.customer_id))
        .where(col(Customer.archived_at).is_(None))
        .order_by(Customer.name, Site.name)
    ).all()
    return [(str(s.id), f"{c.name} — {s.name}") for s, c in rows]


def _zone(session, kiosk: Kiosk, settings) -> ZoneInfo:
    return ZoneInfo(commands.site_zone(session, kiosk, settings))


# the kiosk page's two charts: a week of telemetry, by day, in the same frame
_week_chart = partial(line_chart, x_label=format_date, width=480, height=110)


def _page(
    request: Request,
    session,
    settings,
    user: Principal,
    kiosk: Kiosk,
    status_code: int = 200,
    values: dict | None = None,
    errors: dict | None = None,
    form: str = "",
) -> HTMLResponse:
    now = utcnow()
    points = telemetry.history(session, kiosk.id, now - timedelta(days=7), now)
    history = lifecycle.history(session, kiosk.id)
    placements = deployments.history(session, kiosk.id)

    def ever(field: str) -> list:
        """The customers or sites (`field`) the kiosk is or was at: now, in its history, in its deployments."""
        return [getattr(row, field) for row in (kiosk, *history, *placements)]

    msg = MESSAGES.get(request.query_params.get("msg", ""))
    current = KioskStatus(kiosk.status)
    return templates.TemplateResponse(
        request,
        "fleet_kiosk.html",
        {
            "user": user,
            "csrf": user.csrf_token or "",
            "msg": str(msg) if msg else None,
            "k": kiosk,
            "conn": monitor.connection(kiosk, now, settings),
            "connection_names": CONNECTION_NAMES,
            "zone": _zone(session, kiosk, settings),
            "history": history,
            "alerts": service.list_alerts(session, kiosk.id, 50),
            "deployments": placements,
            "fill_chart": _week_chart(
                [(p.at, p.fill) for p in points if p.fill is not None],
                y_max=1.0,
                y_label=lambda v: f"{round(v * 100)} %",
                title=_("Journal fill, last 7 days"),
            ),
            "pending_chart": _week_chart(
                [(p.at, float(p.pending)) for p in points if p.pending is not None],
                y_label=lambda v: format_decimal(v, 0),
                title=_("Punches waiting on the kiosk, last 7 days"),
            ),
            "customers": _names(session, Customer, ever("customer_id")),
            "sites": _names(session, Site, ever("site_id")),
            "samples": len(points),
            "status_names": {s.value: str(n) for s, n in STATUS_NAMES.items()},
            "next_statuses": [
                (s.value, str(STATUS_NAMES[s])) for s in sorted(lifecycle.TRANSITIONS[current])
            ],
            "site_options": _site_options(session),
            "command_names": {k: str(v) for k, v in COMMAND_NAMES.items()},
            "can_act": user.role in (Role.ADMIN, Role.TECHNICIAN),
            "values": values or {},
            "errors": errors or {},
            "form": form,
        },
        status_code=status_code,
    )


def _confirm(
    request: Request,
    user: Principal,
    title: str,
    text: str,
    button: str,
    action: str,
    cancel: str,
    hidden: dict,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "confirm.html",
        {
            "user": user,
            "csrf": user.csrf_token or "",
            "title": title,
            "text": text,
            "button": button,
            "action": action,
            "cancel": cancel,
            "hidden": {**hidden, "confirmed": "yes"},
        },
    )


@dataclass
class KioskForm:
    """A form staff posted about one kiosk: what each such handler starts from, and its two
    answers short of doing it (the page again with what was wrong, or the confirmation)."""

    request: Request
    session: Session
    settings: Settings
    user: Principal
    kiosk: Kiosk
    form: FormData

    @property
    def confirmed(self) -> bool:
        return self.form.get("confirmed") == "yes"

    def refused(self, status_code: int, values: dict, errors: dict, section: str) -> HTMLResponse:
        """The kiosk page again, the form `section` open with the typed values and the errors."""
        return _page(
            self.request,
            self.session,
            self.settings,
            self.user,
            self.kiosk,
            status_code,
            values,
            errors,
            section,
        )

    def confirm(self, section: str, title: str, text: str, button: str, values: dict) -> HTMLResponse:
        """Ask first: the form `section` posted again, confirmed; cancel goes back to the kiosk."""
        here = f"/fleet/{self.kiosk.id}"
        return _confirm(self.request, self.user, title, text, button, f"{here}/{section}", here, values)


async def _kiosk_form(
    kiosk_id: str, request: Request, session: SessionDep, settings: SettingsDep, user: FleetOperator
) -> KioskForm:
    return KioskForm(request, session, settings, user, _kiosk(session, kiosk_id), await request.form())


KioskFormDep = Annotated[KioskForm, Depends(_kiosk_form)]


# --- register ------------------------------------------------------------------------------------


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, user: FleetOperator):
    return templates.TemplateResponse(
        request,
        "fleet_register.html",
        {"user": user, "csrf": user.csrf_token or "", "values": {}, "errors": {}},
    )


@router.post("/register", response_class=HTMLResponse)
async def register_submit(request: Request, session: SessionDep, user: FleetOperator) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("id", "name", "serial", "model", "firmware_target")}
    data, errors = validate_form(RegisterForm, values)
    if data is not None:
        if session.get(Kiosk, data.id) is not None:
            errors = {"id": _("Kiosk %(id)s is already in the register.", id=data.id)}
        elif data.serial and session.exec(select(Kiosk.id).where(Kiosk.serial == data.serial)).first():
            errors = {"serial": _("Another kiosk has serial %(serial)s.", serial=data.serial)}
        else:
            kiosk = service.register(session, KioskCreate(**data.model_dump()), actor=user.actor)
            audit(session, user.actor, "register", "kiosk", kiosk.id, None, {"serial": kiosk.serial})
            session.commit()
            return RedirectResponse(f"/fleet/{kiosk.id}?msg=registered", status_code=303)
    return templates.TemplateResponse(
        request,
        "fleet_register.html",
        {"user": user, "csrf": user.csrf_token or "", "values": values, "errors": errors},
        status_code=422,
    )


# --- the technician's visits ---------------------------------------------------------------------

RECENT_INSTALLATIONS_DAYS = 30


@router.get("/visits", response_class=HTMLResponse)
def visits_page(request: Request, session: SessionDep, settings: SettingsDep, user: FleetOperator):
    """Where technicians go: retrieval visits booked (date, site, contact), kiosks flagged for
    retrieval that still need a visit, and the installations of the last 30 days."""
    from noxus.fleet.models import KioskDeployment, KioskStatusEvent

    kiosks = service.list_kiosks(session, [KioskStatus.RETRIEVAL_SCHEDULED, KioskStatus.RETRIEVAL_ELIGIBLE])
    visit_at = {}
    for k in kiosks:
        ev = session.exec(
            select(KioskStatusEvent)
            .where(
                KioskStatusEvent.kiosk_id == k.id,
                KioskStatusEvent.to_status == KioskStatus.RETRIEVAL_SCHEDULED,
            )
            .order_by(col(KioskStatusEvent.id).desc())
        ).first()
        visit_at[k.id] = ev.scheduled_for if ev else None
    since = utcnow() - timedelta(days=RECENT_INSTALLATIONS_DAYS)
    installs = session.exec(
        select(KioskDeployment)
        .where(KioskDeployment.valid_from >= since)
        .order_by(col(KioskDeployment.valid_from).desc())
    ).all()
    site_ids = [k.site_id for k in kiosks] + [d.site_id for d in installs]
    sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_([i for i in site_ids if i])))}
    customer_ids = [k.customer_id for k in kiosks] + [d.customer_id for d in installs]
    customers = {
        c.id: c
        for c in session.exec(select(Customer).where(col(Customer.id).in_([i for i in customer_ids if i])))
    }
    scheduled = sorted(
        (k for k in kiosks if k.status == KioskStatus.RETRIEVAL_SCHEDULED),
        key=lambda k: (visit_at[k.id] is None, visit_at[k.id] or utcnow()),
    )
    return templates.TemplateResponse(
        request,
        "fleet_visits.html",
        {
            "user": user,
            "scheduled": scheduled,
            "flagged": [k for k in kiosks if k.status != KioskStatus.RETRIEVAL_SCHEDULED],
            "visit_at": visit_at,
            "installs": installs,
            "sites": sites,
            "customers": customers,
            "zone": ZoneInfo(settings.timezone),
            "days": RECENT_INSTALLATIONS_DAYS,
        },
    )


# --- the kiosk page ------------------------------------------------------------------------------


@router.get("/{kiosk_id}", response_class=HTMLResponse)
def kiosk_page(kiosk_id: str, request: Request, session: SessionDep, settings: SettingsDep, user: StaffOnly):
    return _page(request, session, settings, user, _kiosk(session, kiosk_id))


def _local_to_utc(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)


@router.post("/{kiosk_id}/status", response_class=HTMLResponse)
def change_status(post: KioskFormDep) -> Response:
    session, kiosk, user = post.session, post.kiosk, post.user
    values = {k: str(post.form.get(k, "")) for k in ("status", "site_id", "at", "scheduled_for", "reason")}
    data, errors = validate_form(StatusForm, values)
    if data is not None:
        zone = _zone(session, kiosk, post.settings)
        to = data.status
        if to not in lifecycle.TRANSITIONS[KioskStatus(kiosk.status)]:
            errors = {"status": _("Not possible from the current status.")}
        elif to == KioskStatus.DEPLOYED and kiosk.status == KioskStatus.IN_STOCK and data.site_id is None:
            errors = {"site_id": _("Choose the site where the kiosk is installed.")}
        elif to == KioskStatus.RETRIEVAL_SCHEDULED and data.scheduled_for is None:
            errors = {"scheduled_for": _("Give the date and time of the visit.")}
        if not errors:
            if not post.confirmed:
                site = session.get(Site, data.site_id) if data.site_id else None
                text = _("Kiosk %(id)s becomes: %(status)s.", id=kiosk.id, status=str(STATUS_NAMES[to]))
                if site is not None and to == KioskStatus.DEPLOYED:
                    text += " " + _("Site: %(site)s.", site=site.name)
                return post.confirm(
                    "status",
                    _("Change the status of kiosk %(id)s?", id=kiosk.id),
                    text,
                    _("Change the status"),
                    values,
                )
            try:
                lifecycle.change_status(
                    session,
                    kiosk,
                    to,
                    user.actor,
                    site_id=data.site_id,
                    at=_local_to_utc(data.at, zone),
                    scheduled_for=_local_to_utc(data.scheduled_for, zone),
                    reason=data.reason,
                )
            except lifecycle.TransitionError as e:
                session.rollback()
                errors = {"status": str(e)}
            else:
                audit(
                    session,
                    user.actor,
                    "status",
                    "kiosk",
                    kiosk.id,
                    kiosk.customer_id,
                    {"to": to.value, "site_id": kiosk.site_id, "reason": data.reason},
                )
                session.commit()
                return RedirectResponse(f"/fleet/{kiosk.id}?msg=status", status_code=303)
    return post.refused(422, values, errors, "status")


@router.post("/{kiosk_id}/command", response_class=HTMLResponse)
def send_command(post: KioskFormDep) -> Response:
    session, settings, kiosk = post.session, post.settings, post.kiosk
    command = str(post.form.get("command", "")).strip()
    values = {"command": command}
    if command not in commands.COMMANDS:
        return post.refused(422, values, {"command": _("Choose one of the proposed values.")}, "command")
    if not post.confirmed:
        return post.confirm(
            "command",
            _("Send a command to kiosk %(id)s?", id=kiosk.id),
            str(COMMAND_NAMES[command]),
            _("Send"),
            values,
        )
    try:
        commands.send(
            session, settings, kiosk, command, post.user.actor, commands.site_zone(session, kiosk, settings)
        )
    except commands.CommandError as e:
        session.rollback()
        why = _("The command could not be sent: %(why)s", why=str(e))
        return post.refused(503, values, {"command": why}, "command")
    session.commit()
    return RedirectResponse(f"/fleet/{kiosk.id}?msg=command", status_code=303)


@router.post("/{kiosk_id}/firmware", response_class=HTMLResponse)
def set_firmware(post: KioskFormDep) -> Response:
    kiosk = post.kiosk
    values = {k: str(post.form.get(k, "")) for k in ("firmware_target", "firmware_target_hash")}
    data, errors = validate_form(commands.FirmwareTarget, values)
    if data is None:
        return post.refused(422, values, errors, "firmware")
    if not post.confirmed:
        return post.confirm(
            "firmware",
            _("Set the expected firmware of kiosk %(id)s?", id=kiosk.id),
            _(
                "Expected: %(fw)s. A kiosk reporting another version raises a firmware alert.",
                fw=data.firmware_target or _("any"),
            ),
            _("Save"),
            values,
        )
    commands.set_firmware_target(post.session, kiosk, data, post.user.actor)
    post.session.commit()
    return RedirectResponse(f"/fleet/{kiosk.id}?msg=firmware", status_code=303)
