"""Payroll exports, shared by the API, the pages, the background jobs and the
CLI: a month (one row per employee) or a year (per employee, a row per month
and a row for the year)."""

from datetime import UTC, date, datetime

from sqlmodel import Session

from noxus.core.i18n import format_month, use_language
from noxus.core.i18n import gettext as _
from noxus.core.restrictions import EXPORTS
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.hr import absences, balances, employees, payroll
from noxus.hr.balances import MonthSummary, Vacation
from noxus.hr.errors import HRError, NotFound, refuse_if_suspended
from noxus.hr.export_service import ExportFile
from noxus.tenancy.models import Customer

KINDS = ("payroll", "annual")


def check(params: dict) -> dict:
    """Normalised parameters, or a clear error (in the reader's language)."""
    kind, fmt = params.get("kind", "payroll"), params.get("format", "xlsx")
    if kind not in KINDS:
        raise HRError(
            _("unknown export %(kind)s: choose the month's payroll or the annual summary", kind=kind)
        )
    if fmt not in payroll.FORMATS:
        raise HRError(_("unknown format %(fmt)s: choose XLSX or CSV for Swiss Excel", fmt=fmt))
    try:
        year = int(params.get("year", ""))  # missing: the same error as a word
        month = int(params.get("month") or 0) if kind == "payroll" else 0
    except (TypeError, ValueError):
        raise HRError(_("give the year and the month as numbers, e.g. 2026 and 3")) from None
    if not 2000 <= year <= 2100 or (kind == "payroll" and not 1 <= month <= 12):
        raise HRError(
            _("%(value)s is not a month: give a year 2000-2100 and a month 1-12", value=f"{year}-{month:02d}")
        )
    return {"kind": kind, "format": fmt, "year": year, "month": month, "lang": params.get("lang") or "fr"}


def size(session: Session, customer_id: int, params: dict) -> int:
    """Employee-months the export computes (the pages run big ones in the background)."""
    n = len(_employees(session, customer_id, params["year"], params["month"]))
    return n * (12 if params["kind"] == "annual" else 1)


def _employees(session: Session, customer_id: int, year: int, month: int):
    first = date(year, month or 1, 1)
    last = balances.month_bounds(year, month or 12)[1]
    return [
        e
        for e in employees.listing(session, Scope.only([customer_id]), customer_id)
        if e.active_from <= last and (e.active_to is None or e.active_to >= first)
    ]


def _year_total(ms: list[MonthSummary]) -> MonthSummary:
    t = MonthSummary(ms[0].employee, ms[0].year, 0)
    for m in ms:
        for k in (
            "worked_seconds",
            "target_seconds",
            "credited_seconds",
            "overtime_seconds",
            "night_seconds",
            "sunday_seconds",
            "balance_seconds",
            "exceptions",
        ):
            setattr(t, k, getattr(t, k) + getattr(m, k))
        for code, sec in m.absences.items():
            t.absences[code] = t.absences.get(code, 0) + sec
        t.vacation_taken += m.vacation_taken
    t.carried_in_seconds = ms[0].carried_in_seconds
    v = ms[-1].vacation
    t.vacation = Vacation(v.year, v.entitlement, v.taken, v.planned, v.carried) if v else None
    return t


def build(
    session: Session,
    customer_id: int,
    params: dict,
    settings: Settings,
    progress=None,
    now: datetime | None = None,
    actor: str | None = None,
) -> ExportFile:
    """The payroll file; with `actor`, the export (whose, which month or year, how many people) is
    recorded in the hash-chained audit log in the caller's transaction, as timesheet exports are."""
    p = check(params)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("customer %(id)s not found", id=customer_id))
    refuse_if_suspended(session, customer_id, EXPORTS)
    now = now or datetime.now(UTC)
    with use_language(p["lang"]):
        kinds = [(k.code, absences.kind_name(k)) for k in absences.ensure_kinds(session, customer_id)]
        emps = _employees(session, customer_id, p["year"], p["month"])
        if p["kind"] == "payroll":
            rows = balances.months(
                session, customer_id, emps, p["year"], p["month"], settings, p["lang"], now, progress
            )
            title = _("Payroll %(month)s", month=format_month(p["year"], p["month"]))
        else:
            by_month = balances.year_months(
                session, customer_id, emps, p["year"], settings, p["lang"], now, progress
            )
            rows = []
            for i in range(len(emps)):
                ms = [by_month[m][i] for m in range(12)]
                rows += ms + [_year_total(ms)]
            title = _("Annual summary %(year)s", year=p["year"])
        if p["format"] == "xlsx":
            content = payroll.to_xlsx(rows, kinds, title)
        else:
            content = payroll.to_csv(rows, kinds)
    if actor:
        from noxus.core import audit

        audit.record(
            session,
            actor,
            "export",
            "payroll",
            "",
            customer_id,
            {
                "kind": p["kind"],
                "year": p["year"],
                "month": p["month"],
                "format": p["format"],
                "employees": len(emps),
            },
        )
    media = payroll.FORMATS[p["format"]][0]
    return ExportFile(
        content, payroll.filename(p["format"], p["year"], p["month"], p["kind"] == "annual"), media
    )
