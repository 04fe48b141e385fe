from fastapi import APIRouter, Query
from sqlmodel import col, select

from noxus.core.deps import SessionDep
from noxus.core.security import TechRule
from noxus.core.types import id_of
from noxus.ingest.models import DeadLetter, DeadLetterPublic, Punch, PunchPublic

router = APIRouter(prefix="/api/v1", tags=["ingest"], dependencies=[TechRule])  # raw data of every tenant


def punch_public(p: Punch) -> PunchPublic:
    return PunchPublic(**p.model_dump(), estimated=p.ts is None)


@router.get("/punches", response_model=list[PunchPublic])
def list_punches(
    session: SessionDep,
    kiosk_id: str | None = None,
    badge_uid: str | None = None,
    after_id: int = 0,
    limit: int = Query(100, ge=1, le=1000),
):
    """Latest first; page with after_id for oldest-first reading of new punches."""
    q = select(Punch)
    if kiosk_id:
        q = q.where(Punch.kiosk_id == kiosk_id)
    if badge_uid:
        q = q.where(Punch.badge_uid == badge_uid.upper())
    if after_id:
        q = q.where(col(Punch.id) > after_id).order_by(col(Punch.id))
    else:
        q = q.order_by(col(Punch.id).desc())
    return [punch_public(p) for p in session.exec(q.limit(limit))]


@router.get("/dead-letters", response_model=list[DeadLetterPublic])
def list_dead_letters(session: SessionDep, limit: int = Query(100, ge=1, le=1000)):
    rows = session.exec(select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit))
    return [
        DeadLetterPublic(
            id=id_of(d),
            received_at=d.received_at,
            topic=d.topic,
            reason=d.reason,
            payload_preview=d.payload[:200].decode("utf-8", "replace"),
        )
        for d in rows
    ]
