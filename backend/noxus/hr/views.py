"""Timesheet objects to API schemas."""

from noxus.core.types import id_of
from noxus.hr.schemas import DayView, PunchView, ShiftView, TimesheetPublic, WeekView
from noxus.hr.timesheets import Timesheet


def punch_view(p) -> PunchView:
    return PunchView(
        key=p.key,
        punch_id=p.punch_id,
        correction_id=p.correction_id,
        kiosk_id=p.kiosk_id,
        raw_at=p.raw_at,
        at=p.at,
        estimated=p.estimated,
        added=p.added,
        moved=p.moved,
        voided=p.voided,
        merged=p.merged,
        direction=p.direction,
    )


def timesheet_public(s: Timesheet) -> TimesheetPublic:
    days = [
        DayView(
            day=d.day,
            worked_seconds=d.worked_seconds,
            break_seconds=d.break_seconds,
            target_seconds=d.target_seconds,
            balance_seconds=d.balance_seconds,
            exceptions=d.exceptions,
            shifts=[
                ShiftView(
                    start=x.start.at, end=x.end.at if x.end else None, status=x.status, seconds=x.seconds
                )
                for x in d.shifts
            ],
        )
        for d in s.days
    ]
    return TimesheetPublic(
        employee_id=id_of(s.employee),
        zone=s.zone.key,
        first=s.first,
        last=s.last,
        days=days,
        weeks=[WeekView(**w) for w in s.weeks()],
        punches=[punch_view(p) for p in s.punches],
        worked_seconds=s.worked_seconds,
        break_seconds=s.break_seconds,
        target_seconds=s.target_seconds,
        balance_seconds=s.balance_seconds,
    )
