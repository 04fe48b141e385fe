"""HTTP face of enrollment: the technician's CLI (bearer token, technician or
admin role) and kiosks redeeming a claim code (public: the code is the secret)."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import SQLModel

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import Principal, Public, Role, TechStaff, require_roles, scope_for
from noxus.fleet import claim_limits
from noxus.fleet import enrollment as svc
from noxus.fleet.enrollment_mqtt import BrokerConfigError, current_state, wait_for_birth, wait_for_enroll_tap
from noxus.fleet.models import Kiosk

router = APIRouter(prefix="/api/v1/enrollment", tags=["provisioning"])
T = TypeVar("T")

MAX_WAIT_S = 30.0  # one long poll; the CLI repeats it
# badge enrollment: NOXUS technicians on site, or the customer's HR admin
TechOrHR = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.TECHNICIAN, Role.HR_ADMIN))]


class KioskState(SQLModel):
    kiosk_id: str
    state: dict | None  # the last state message (birth or will), None if none retained


def _fail(e: Exception) -> HTTPException:
    if isinstance(e, svc.EnrollmentError):
        return HTTPException(e.status_code, detail=str(e))
    if isinstance(e, BrokerConfigError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(e))
    from noxus.fleet.status import TransitionError

    if isinstance(e, TransitionError):
        return HTTPException(status.HTTP_409_CONFLICT, detail=str(e))
    raise e


def _committed(session, change: Callable[[], T]) -> T:
    """Run a service change and commit it; refused, nothing is kept and the answer is _fail's."""
    try:
        result = change()
    except (ValueError, BrokerConfigError) as e:
        session.rollback()
        raise _fail(e) from None
    session.commit()
    return result


def _kiosk(session, kiosk_id: str) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"kiosk {kiosk_id} is not registered")
    return kiosk


def _enrolled_kiosk(session, kiosk_id: str) -> Kiosk:
    """A kiosk with an MQTT account: the only ones that can be online."""
    kiosk = _kiosk(session, kiosk_id)
    cred = session.get(svc.KioskCredential, kiosk_id)
    if cred is None or cred.revoked_at is not None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"kiosk {kiosk_id} has no MQTT account: enroll it with noxus-provision",
        )
    return kiosk


@router.post("/kiosks", response_model=svc.KioskEnrolled)
def enroll_kiosk(data: svc.KioskEnroll, session: SessionDep, settings: SettingsDep, user: TechStaff):
    """Place the board at the site and mint its MQTT account. Rerunning rotates the password."""
    result = _committed(session, lambda: svc.enroll(session, settings, data, user.actor))
    return result


@router.delete("/kiosks/{kiosk_id}/credentials", status_code=status.HTTP_204_NO_CONTENT)
def revoke_kiosk_credentials(kiosk_id: str, session: SessionDep, settings: SettingsDep, user: TechStaff):
    _kiosk(session, kiosk_id)
    try:
        svc.revoke_credentials(session, settings, kiosk_id)
    except BrokerConfigError as e:
        raise _fail(e) from None
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/kiosks/{kiosk_id}/state", response_model=KioskState)
def kiosk_state(
    kiosk_id: str, session: SessionDep, settings: SettingsDep, user: TechStaff, wait: float = 1.0
):
    """The retained state message on noxus/v1/<kiosk_id>/state, as the broker holds it."""
    _enrolled_kiosk(session, kiosk_id)
    try:
        return KioskState(kiosk_id=kiosk_id, state=current_state(settings, kiosk_id, min(wait, 5.0)))
    except BrokerConfigError as e:
        raise _fail(e) from None


@router.get("/kiosks/{kiosk_id}/birth", response_model=KioskState)
async def kiosk_birth(
    kiosk_id: str,
    session: SessionDep,
    settings: SettingsDep,
    user: TechStaff,
    not_boot: int | None = None,
    timeout: float = 20.0,
):
    """Long poll: the kiosk's birth (online: true) with a boot number other than not_boot;
    state null when none came within the timeout (ask again). Async like enroll_tap."""

    def check() -> None:
        _enrolled_kiosk(session, kiosk_id)
        session.rollback()  # the connection goes back to the pool for the wait

    await run_in_threadpool(check)
    try:
        state = await wait_for_birth(settings, kiosk_id, not_boot, min(max(timeout, 0.0), MAX_WAIT_S))
    except BrokerConfigError as e:
        raise _fail(e) from None
    return KioskState(kiosk_id=kiosk_id, state=state)


class EnrollTap(SQLModel):
    timeout_s: float = 20.0


class TappedBadge(SQLModel):
    kiosk_id: str
    uid: str | None  # None: no tap within the timeout (ask again)


@router.post("/kiosks/{kiosk_id}/enroll-tap", response_model=TappedBadge)
async def enroll_tap(
    kiosk_id: str, data: EnrollTap, session: SessionDep, settings: SettingsDep, user: TechOrHR
):
    """Put the kiosk in enrollment mode; long poll for the UID of the next badge tapped on it.
    Customer HR admins may use it on their own kiosks only.

    Async on purpose: a sync route would hold one of the server's worker threads (40 by default)
    for the whole wait, so a few dozen open polls would stall every other sync request."""

    def check() -> None:
        kiosk = _kiosk(session, kiosk_id)
        scope_for(user).check(kiosk.customer_id, "kiosk")
        _enrolled_kiosk(session, kiosk_id)
        session.rollback()  # the connection goes back to the pool for the wait

    await run_in_threadpool(check)
    try:
        uid = await wait_for_enroll_tap(settings, kiosk_id, min(max(data.timeout_s, 1.0), MAX_WAIT_S))
    except BrokerConfigError as e:
        raise _fail(e) from None
    return TappedBadge(kiosk_id=kiosk_id, uid=uid)


# --- claim codes --------------------------------------------------------------------------------


def _limit(request: Request, settings, board_uid: str) -> None:
    source = request.client.host if request.client else "?"
    wait = claim_limits.limits(settings.claim_rate_per_source, settings.claim_rate_per_board).check(
        source, board_uid
    )
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(int(wait) + 1)},
            detail="too many claim requests from this address or for this board: wait and poll less often",
        )


@router.post(
    "/claims",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Public],
    responses={
        409: {"description": "this board already waits with another code"},
        429: {"description": "rate limited per source and per board"},
    },
)
def open_claim(data: svc.ClaimOpen, request: Request, session: SessionDep, settings: SettingsDep):
    """A kiosk without credentials announces the code it shows; staff approve it."""
    _limit(request, settings, data.board_uid)
    _committed(session, lambda: svc.open_claim(session, settings, data))
    return {"status": "pending"}


@router.post(
    "/claims/redeem",
    response_model=svc.KioskEnrolled,
    dependencies=[Public],
    responses={
        202: {"description": "not approved yet: poll again"},
        410: {"description": "already delivered or expired"},
    },
)
def redeem_claim(
    data: svc.ClaimRedeem, request: Request, session: SessionDep, settings: SettingsDep, response: Response
):
    _limit(request, settings, data.board_uid)
    result = _committed(session, lambda: svc.redeem_claim(session, settings, data))
    if result is None:
        return Response(
            status_code=status.HTTP_202_ACCEPTED,
            content='{"status":"pending"}',
            media_type="application/json",
        )
    return result


@router.get("/claims", response_model=list[svc.ClaimPublic])
def list_claims(session: SessionDep, user: TechStaff, pending_only: bool = True):
    return svc.list_claims(session, pending_only)


@router.post("/claims/{claim_id}/cancel", response_model=svc.ClaimPublic)
def cancel_claim(claim_id: int, session: SessionDep, user: TechStaff):
    """Staff: this pending claim is not genuine (or the kiosk drew a new code)."""
    claim = _committed(session, lambda: svc.cancel_claim(session, claim_id, user.actor))
    session.refresh(claim)
    return claim


@router.post("/claims/approve", response_model=svc.ClaimPublic)
def approve_claim(data: svc.ClaimApprove, session: SessionDep, user: TechStaff):
    claim = _committed(session, lambda: svc.approve_claim(session, data, user.actor))
    session.refresh(claim)
    return claim
