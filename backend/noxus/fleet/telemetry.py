"""Telemetry history: one raw row per heartbeat, folded into hourly rows once
older than `fleet_telemetry_raw_hours`, dropped after `fleet_telemetry_keep_days`.

1 000 kiosks x 1 sample a minute = 1.44 M raw rows a day; hourly folding keeps
a year of history at ~9 M rows, which a plain (kiosk_id, resolution, at) index
serves without partitioning."""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from noxus.fleet.models import KioskTelemetry

FOLD_BATCH = 20_000  # raw rows folded per transaction: bounded memory


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def add_sample(
    session: Session, kiosk_id: str, at: datetime, body: dict, clock_skew_s: float | None
) -> KioskTelemetry:
    row = KioskTelemetry(
        kiosk_id=kiosk_id,
        at=at,
        fill=_num(body.get("fill")),
        pending=_int(body.get("pending")),
        flash_free=_int(body.get("flash_free")),
        clock_skew_s=clock_skew_s,
        boot=_int(body.get("boot")),
        uptime_ms=_int(body.get("uptime_ms")),
    )
    session.add(row)
    return row


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _fold_into(hour: KioskTelemetry, r: KioskTelemetry) -> None:
    hour.samples += r.samples
    hour.fill = _max(hour.fill, r.fill)
    hour.pending = _max(hour.pending, r.pending)
    hour.flash_free = _min(hour.flash_free, r.flash_free)
    if r.clock_skew_s is not None and (
        hour.clock_skew_s is None or abs(r.clock_skew_s) > abs(hour.clock_skew_s)
    ):
        hour.clock_skew_s = r.clock_skew_s
    if r.boot is not None:
        hour.boot, hour.uptime_ms = r.boot, r.uptime_ms


def downsample(session: Session, now: datetime, raw_hours: int, keep_days: int) -> int:
    """Fold raw rows older than raw_hours into one row per kiosk and hour; the
    caller commits. Returns the number of raw rows folded. Idempotent: an hour
    already folded (e.g. partly, by an earlier run) is extended, not duplicated."""
    cutoff = (now - timedelta(hours=raw_hours)).replace(minute=0, second=0, microsecond=0)
    raws = session.exec(
        select(KioskTelemetry)
        .where(KioskTelemetry.resolution == "raw", KioskTelemetry.at < cutoff)
        .order_by(col(KioskTelemetry.kiosk_id), col(KioskTelemetry.at))
        .limit(FOLD_BATCH)
    ).all()
    buckets: dict[tuple[str, datetime], list[KioskTelemetry]] = defaultdict(list)
    for r in raws:
        buckets[(r.kiosk_id, r.at.replace(minute=0, second=0, microsecond=0))].append(r)
    for (kiosk_id, hour_at), rows in buckets.items():
        hour = session.exec(
            select(KioskTelemetry).where(
                KioskTelemetry.kiosk_id == kiosk_id,
                KioskTelemetry.resolution == "hour",
                KioskTelemetry.at == hour_at,
            )
        ).first()
        if hour is None:
            hour = KioskTelemetry(kiosk_id=kiosk_id, resolution="hour", at=hour_at, samples=0)
            session.add(hour)
        for r in rows:
            _fold_into(hour, r)
    if raws:
        session.execute(delete(KioskTelemetry).where(col(KioskTelemetry.id).in_([r.id for r in raws])))
    session.execute(
        delete(KioskTelemetry).where(
            col(KioskTelemetry.resolution) == "hour", col(KioskTelemetry.at) < now - timedelta(days=keep_days)
        )
    )
    return len(raws)


def history(
    session: Session, kiosk_id: str, since: datetime, until: datetime, limit: int = 5000
) -> list[KioskTelemetry]:
    """Hourly rows for the folded past, raw rows after: one series, oldest first."""
    return list(
        session.exec(
            select(KioskTelemetry)
            .where(
                KioskTelemetry.kiosk_id == kiosk_id, KioskTelemetry.at >= since, KioskTelemetry.at <= until
            )
            .order_by(col(KioskTelemetry.at), col(KioskTelemetry.id))
            .limit(limit)
        )
    )


def recent_series(
    session: Session, kiosk_ids: list[str], since: datetime, field: str = "fill"
) -> dict[str, list[tuple[datetime, float]]]:
    """One value series per kiosk (for sparklines), in a single query."""
    if not kiosk_ids:
        return {}
    value_col = getattr(KioskTelemetry, field)
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for kiosk_id, at, value in session.execute(
        select(KioskTelemetry.kiosk_id, KioskTelemetry.at, value_col)
        .where(
            col(KioskTelemetry.kiosk_id).in_(kiosk_ids),
            col(KioskTelemetry.at) >= since,
            value_col.is_not(None),
        )
        .order_by(col(KioskTelemetry.kiosk_id), col(KioskTelemetry.at))
    ):
        out[kiosk_id].append((at, float(value)))
    return out
