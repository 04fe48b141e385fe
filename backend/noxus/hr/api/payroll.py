"""Payroll exports: synchronous, or as a background job to poll and download (columns in
docs/exports.md)."""

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import current_language
from noxus.core.security import HRReader, TenantScope
from noxus.hr import export_service, jobs, payroll_service
from noxus.hr.api.common import http_errors
from noxus.hr.schemas import ExportJobPublic

router = APIRouter(prefix="/api/v1/hr", tags=["hr"])


@dataclass
class PayrollAsk:
    customer_id: int  # a customer user's own
    params: dict  # as payroll_service takes them


def _payroll_ask(
    scope: TenantScope,
    year: int = Query(ge=2000, le=2100),
    month: int = Query(default=0, ge=0, le=12),
    kind: Literal["payroll", "annual"] = "payroll",
    format: Literal["xlsx", "csv-excel"] = "xlsx",
    customer_id: int | None = None,
    lang: str = "",
) -> PayrollAsk:
    """The export asked for (in the reader's language unless given)."""
    params = {
        "kind": kind,
        "year": year,
        "month": month,
        "format": format,
        "lang": lang or current_language(),
    }
    return PayrollAsk(scope.resolve_customer(customer_id), params)


Payroll = Annotated[PayrollAsk, Depends(_payroll_ask)]


@router.get(
    "/payroll",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, payroll_service.payroll.XLSX: {}}}},
)
def payroll_export(session: SessionDep, settings: SettingsDep, user: HRReader, ask: Payroll):
    """The month's payroll (a row per employee) or the annual summary; columns in docs/exports.md."""
    with http_errors():
        f = payroll_service.build(session, ask.customer_id, ask.params, settings, actor=user.actor)
    session.commit()
    return export_service.response(f)


@router.post("/payroll/jobs", response_model=ExportJobPublic, status_code=status.HTTP_202_ACCEPTED)
def payroll_job(session: SessionDep, settings: SettingsDep, user: HRReader, ask: Payroll):
    """Start the export in the background; poll GET /payroll/jobs/{id}, then download."""
    with http_errors():
        checked = payroll_service.check(ask.params)
        job = jobs.submit(session, ask.customer_id, checked["kind"], checked, user.actor)
    session.commit()
    jobs.start(session, job, settings, checked["lang"])
    return _job_public(job)


def _job_public(job) -> ExportJobPublic:
    return ExportJobPublic(
        id=job.id,
        kind=job.kind,
        state=jobs.state(job),
        done=job.done,
        total=job.total,
        filename=job.filename,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@router.get("/payroll/jobs/{job_id}", response_model=ExportJobPublic)
def payroll_job_status(
    job_id: int, session: SessionDep, scope: TenantScope, user: HRReader, customer_id: int | None = None
):
    with http_errors():
        return _job_public(jobs.get(session, scope.resolve_customer(customer_id), job_id))


@router.get("/payroll/jobs/{job_id}/download", response_class=Response)
def payroll_job_download(
    job_id: int, session: SessionDep, scope: TenantScope, user: HRReader, customer_id: int | None = None
):
    with http_errors():
        job = jobs.get(session, scope.resolve_customer(customer_id), job_id)
        f = jobs.file(job)
    return export_service.response(f)
