"""Data protection API: data-subject requests, employee export and erasure, breaches,
retention policy, and the audit log (list, CSV export, chain verification)."""

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import SQLModel, col, select

from noxus.core import audit
from noxus.core.audit_entry import AuditEntry, AuditEntryPublic
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import AdminOnly, HRAdmin, TenantScope
from noxus.core.types import id_of
from noxus.hr.models import Employee
from noxus.privacy import registers, subject
from noxus.privacy.models import (
    Breach,
    BreachCreate,
    BreachPublic,
    DataSubjectRequestCreate,
    DataSubjectRequestPublic,
    DataSubjectRequestUpdate,
    PrivacyPolicy,
    PrivacyPolicyPublic,
    PrivacyPolicyUpdate,
)
from noxus.privacy.retention import policy_for
from noxus.tenancy.models import Customer
from noxus.web.download import content_disposition

router = APIRouter(tags=["privacy"])
T = TypeVar("T")


def _fail(e: registers.PrivacyError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(e, registers.NotFound) else 400
    return HTTPException(code, detail=str(e))


def _saved(session, change: Callable[[], T]) -> T:
    """Run a register change, commit it and reload the row; a refusal answers as _fail says."""
    try:
        row = change()
    except registers.PrivacyError as e:
        raise _fail(e) from None
    session.commit()
    session.refresh(row)
    return row


# --- data-subject requests ----------------------------------------------------------------------


@router.get("/api/v1/privacy/requests", response_model=list[DataSubjectRequestPublic])
def list_requests(session: SessionDep, scope: TenantScope, user: HRAdmin, open_only: bool = False):
    return [registers.dsr_public(r) for r in registers.list_dsr(session, scope, open_only)]


@router.post("/api/v1/privacy/requests", response_model=DataSubjectRequestPublic, status_code=201)
def open_request(
    data: DataSubjectRequestCreate,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRAdmin,
):
    if data.employee_id is not None:
        emp = session.get(Employee, data.employee_id)
        if emp is None or not scope.allows(emp.customer_id):
            raise HTTPException(404, detail=f"employee {data.employee_id} not found")
        data.customer_id = scope.resolve_customer(
            data.customer_id if data.customer_id is not None else emp.customer_id
        )
        if data.customer_id != emp.customer_id:
            raise HTTPException(400, detail="the employee belongs to another customer")
    if data.customer_id is not None and session.get(Customer, data.customer_id) is None:
        raise HTTPException(404, detail=f"customer {data.customer_id} not found")
    return registers.dsr_public(
        _saved(session, lambda: registers.open_dsr(session, scope, data, user, settings))
    )


@router.patch("/api/v1/privacy/requests/{dsr_id}", response_model=DataSubjectRequestPublic)
def update_request(
    dsr_id: int, data: DataSubjectRequestUpdate, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    return registers.dsr_public(
        _saved(
            session,
            lambda: registers.update_dsr(session, registers.get_dsr(session, scope, dsr_id), data, user),
        )
    )


# --- one employee: export and erasure -----------------------------------------------------------


def _employee(session, scope, employee_id: int) -> Employee:
    emp = session.get(Employee, employee_id)
    if emp is None or not scope.allows(emp.customer_id):
        raise HTTPException(404, detail=f"employee {employee_id} not found")
    return emp


@router.get(
    "/api/v1/privacy/employees/{employee_id}/export",
    responses={200: {"content": {"application/zip": {}}}},
    response_class=Response,
)
def export_employee(employee_id: int, session: SessionDep, scope: TenantScope, user: HRAdmin):
    """Everything about one employee (profile, badges, punches, corrections, HR audit, requests):
    a ZIP holding employee.json and one CSV per section."""
    emp = _employee(session, scope, employee_id)
    content = subject.export(session, emp, user.actor)
    session.commit()
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(f"employee-{emp.id}-export.zip")},
    )


class ErasureRequest(SQLModel):
    confirm: bool = False
    dsr_id: int | None = None
    reason: str = "erasure request"


class ErasureResult(SQLModel):
    employee_id: int
    corrections: int
    hr_audit_events: int
    badges_kept: int


@router.post("/api/v1/privacy/employees/{employee_id}/erase", response_model=ErasureResult)
def erase_employee(
    employee_id: int, data: ErasureRequest, session: SessionDep, scope: TenantScope, user: HRAdmin
):
    """Anonymise the employee: identity removed, time records kept (totals unchanged) until the
    retention period ends. Irreversible: send {"confirm": true}."""
    emp = _employee(session, scope, employee_id)
    if not data.confirm:
        raise HTTPException(400, detail='erasure is irreversible: send {"confirm": true} to proceed')
    if data.dsr_id is not None:
        registers.get_dsr(session, scope, data.dsr_id)
    summary = subject.anonymise(session, emp, user.actor, data.reason[:200])
    session.commit()
    return ErasureResult(employee_id=id_of(emp), **summary)


# --- breaches -----------------------------------------------------------------------------------


@router.get("/api/v1/privacy/breaches", response_model=list[BreachPublic])
def list_breaches(session: SessionDep, user: AdminOnly):
    return [registers.breach_public(b) for b in session.exec(select(Breach).order_by(col(Breach.id).desc()))]


@router.post("/api/v1/privacy/breaches", response_model=BreachPublic, status_code=201)
def record_breach(data: BreachCreate, session: SessionDep, settings: SettingsDep, user: AdminOnly):
    return registers.breach_public(
        _saved(session, lambda: registers.record_breach(session, data, user, settings))
    )


@router.post("/api/v1/privacy/breaches/{breach_id}/notified", response_model=BreachPublic)
def breach_notified(breach_id: int, session: SessionDep, user: AdminOnly):
    b = session.get(Breach, breach_id)
    if b is None:
        raise HTTPException(404, detail=f"breach {breach_id} not found")
    registers.mark_breach_notified(session, b, user)
    session.commit()
    session.refresh(b)
    return registers.breach_public(b)


# --- retention policy ---------------------------------------------------------------------------


@router.get("/api/v1/privacy/policies/{customer_id}", response_model=PrivacyPolicyPublic)
def get_policy(
    customer_id: int, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: HRAdmin
):
    scope.check(customer_id, "customer")
    if session.get(Customer, customer_id) is None:
        raise HTTPException(404, detail="customer not found")
    return policy_for(session, customer_id, settings)


@router.put("/api/v1/privacy/policies/{customer_id}", response_model=PrivacyPolicyPublic)
def set_policy(
    customer_id: int, data: PrivacyPolicyUpdate, session: SessionDep, settings: SettingsDep, user: AdminOnly
):
    if session.get(Customer, customer_id) is None:
        raise HTTPException(404, detail="customer not found")
    if data.contract_ended_at is not None and data.contract_ended_at.tzinfo is None:
        raise HTTPException(400, detail="contract_ended_at needs a time zone")
    pol = session.get(PrivacyPolicy, customer_id) or policy_for(session, customer_id, settings)
    changes = data.model_dump(exclude_unset=True)
    for k, v in changes.items():
        if v is not None or k == "contract_ended_at":
            setattr(pol, k, v)
    session.add(pol)
    audit.record(session, user.actor, "update", "privacy_policy", customer_id, customer_id, changes)
    session.commit()
    session.refresh(pol)
    return pol


# --- audit log ----------------------------------------------------------------------------------


class VerifyPublic(SQLModel):
    ok: bool
    checked: int
    first_bad_id: int | None
    problem: str
    head_hash: str


@router.get("/api/v1/audit", response_model=list[AuditEntryPublic])
def list_audit(
    session: SessionDep,
    scope: TenantScope,
    user: HRAdmin,
    object_type: str | None = None,
    object_id: str | None = None,
    before_id: int | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
):
    """Newest first. Customer HR admins see the entries about their own customer."""
    stmt = scope.where(select(AuditEntry), AuditEntry.customer_id)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if before_id:
        stmt = stmt.where(col(AuditEntry.id) < before_id)
    return session.exec(stmt.order_by(col(AuditEntry.id).desc()).limit(max(1, min(limit, 1000)))).all()


@router.get(
    "/api/v1/audit/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def export_audit(session: SessionDep, user: AdminOnly):
    """The whole chain as CSV, with hashes, so it can be verified outside NoxusTime."""
    body = audit.export_csv(list(audit.iter_entries(session)))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="noxus-audit.csv"'},
    )


@router.get("/api/v1/audit/verify", response_model=VerifyPublic)
def verify_audit(session: SessionDep, user: AdminOnly):
    r = audit.verify(session)
    return VerifyPublic(
        ok=r.ok,
        checked=r.checked,
        first_bad_id=r.first_bad_id,
        problem=r.problem,
        head_hash=audit.head(session)[1],
    )
