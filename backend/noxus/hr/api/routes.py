"""All HR API routers, included by main.py in one line."""

from fastapi import APIRouter

from noxus.hr.api import badges, corrections, employees, payroll, periods, timesheets, worktime

router = APIRouter()
for r in (
    employees.router,
    badges.router,
    corrections.router,
    periods.router,
    timesheets.router,
    worktime.router,
    payroll.router,
):
    router.include_router(r)
