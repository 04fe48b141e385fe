"""One entry point for exports, shared by the API, the web UI and the CLI."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from noxus.core.i18n import current_language, normalise
from noxus.core.restrictions import EXPORTS
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.hr import employees, exports, timesheets
from noxus.hr.errors import HRError, NotFound, refuse_if_suspended
from noxus.tenancy.models import Customer
from noxus.web.download import content_disposition


@dataclass
class ExportFile:
    content: bytes
    filename: str
    media_type: str


def build(
    session: Session,
    scope: Scope,
    customer_id: int | None,
    first: date,
    last: date,
    fmt: str,
    employee_ids: list[int] | None = None,
    lang: str = "fr",
    settings: Settings | None = None,
    actor: str | None = None,
) -> ExportFile:
    """The export file (in `lang` if we speak it, else the reader's language); with `actor`, the
    export (whose, which period, how many people) is recorded in the hash-chained audit log in
    the caller's transaction."""
    settings = settings or Settings()
    lang = normalise(lang) or current_language()
    if fmt not in exports.FORMATS:
        raise HRError(f"unknown export format {fmt!r}: use one of {', '.join(exports.FORMATS)}")
    timesheets.check_period(first, last, settings)
    if employee_ids:
        emps = [employees.get(session, scope, i) for i in employee_ids]
        customers = {e.customer_id for e in emps}
        if len(customers) > 1 or (customer_id is not None and customers != {customer_id}):
            raise HRError("the employees belong to different customers: export one customer at a time")
        customer_id = customers.pop()
    else:
        customer_id = customer_id if customer_id is not None else scope.own_customer_id
        if customer_id is None:
            raise HRError("give customer_id (or employee ids): which customer's timesheets to export")
        if not scope.allows(customer_id) or session.get(Customer, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        emps = [
            e
            for e in employees.listing(session, scope, customer_id)
            if e.active_from <= last and (e.active_to is None or e.active_to >= first)
        ]
    refuse_if_suspended(session, customer_id, EXPORTS)
    sheets = timesheets.compute(session, customer_id, emps, first, last, settings)
    customer = session.get(Customer, customer_id)
    who = emps[0].personnel_number if employee_ids and len(emps) == 1 else "all"
    content = exports.render(fmt, sheets, lang, customer.name if customer else "")
    if actor:
        from noxus.core import audit

        audit.record(
            session,
            actor,
            "export",
            "timesheets",
            "",
            customer_id,
            {"first": first.isoformat(), "last": last.isoformat(), "format": fmt, "employees": len(emps)},
        )
    return ExportFile(content, exports.filename(fmt, first, last, who), exports.FORMATS[fmt].media_type)


def response(f: ExportFile):
    """The one download response of every export route (API and pages)."""
    from fastapi.responses import Response

    return Response(
        f.content, media_type=f.media_type, headers={"Content-Disposition": content_disposition(f.filename)}
    )
