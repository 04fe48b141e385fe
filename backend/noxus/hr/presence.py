"""Who is in right now: employees whose last shift is open (an IN younger
than the longest shift), since when, on which kiosk and site."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.core.types import id_of
from noxus.fleet import service as fleet
from noxus.hr import attendance, effective, employees
from noxus.tenancy.models import Site


@dataclass
class Present:
    employee_id: int
    employee: str
    personnel_number: str
    since: datetime
    kiosk_id: str | None
    kiosk: str
    site: str


def present(
    session: Session, customer_id: int, settings: Settings, now: datetime | None = None
) -> list[Present]:
    now = now or datetime.now(UTC)
    cooldown, max_shift = effective.rules(settings)
    emps = {
        id_of(e): e
        for e in employees.listing(session, Scope.only([customer_id]), customer_id)
        if e.active_to is None or e.active_to >= now.date()
    }
    if not emps:
        return []
    loaded = effective.load(session, customer_id, list(emps), now - max_shift, now, settings)
    kiosks = {k.id: k for k in fleet.list_kiosks(session)}
    sites = {s.id: s.name for s in session.exec(select(Site).where(Site.customer_id == customer_id))}
    out = []
    for emp_id, punches in loaded.items():
        shifts = attendance.pair(punches, cooldown, max_shift, now)
        if shifts and shifts[-1].status == attendance.OPEN and shifts[-1].start.at <= now:
            e, p = emps[emp_id], shifts[-1].start
            k = kiosks.get(p.kiosk_id) if p.kiosk_id else None
            out.append(
                Present(
                    id_of(e),
                    f"{e.last_name} {e.first_name}",
                    e.personnel_number,
                    p.at,
                    p.kiosk_id,
                    (k.name or k.id) if k else "",
                    sites.get(getattr(k, "site_id", None), ""),
                )
            )
    return sorted(out, key=lambda x: x.since)
