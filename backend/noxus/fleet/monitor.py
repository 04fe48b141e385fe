"""Alert rules. A condition alert (offline, journal_fill, clock_skew, low_flash,
firmware_mismatch, repeated_reboots) is opened once and resolved when the
condition clears; event alerts (seq_gap, seq_reused, raised by ingest) are
one row per event. Thresholds come from Settings (fleet_*)."""

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text, update
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlmodel import Session, col, or_, select

from noxus.core.settings import Settings
from noxus.fleet import telemetry
from noxus.fleet.models import Kiosk, KioskAlert, KioskStatus
from noxus.fleet.status import AT_CUSTOMER

CONDITIONS = ("offline", "journal_fill", "clock_skew", "low_flash", "firmware_mismatch", "repeated_reboots")
# Two skew samples at least this far apart (server time): a backlog drained
# after an outage delivers old telemetry in a burst, which must not look like skew.
SKEW_CONFIRM_S = 30


OPEN_ALERTS = "fleet_open_alerts"  # Session.info key of the batch cache (see batch())
SEEN = "fleet_seen"  # Session.info key: kiosk id -> (online, last_seen) to write at the batch's end


@contextlib.contextmanager
def batch(session: Session, kiosk_ids: Iterable[str]) -> Iterator[None]:
    """Many kiosks' states and heartbeats in one transaction (an ingest group):
    their rows and open alerts are read with one query each, and the alert
    rules below consult that instead of one query per kiosk and rule. Every
    change goes through these functions, so the cache stays what the session
    would read."""
    ids = sorted(set(kiosk_ids))
    cache: dict[str, list[KioskAlert]] = {kiosk_id: [] for kiosk_id in ids}
    kiosks = []  # held: the session's identity map keeps them only while referenced
    if ids:
        query = select(Kiosk).where(col(Kiosk.id).in_(ids))
        if session.get_bind().dialect.name == "postgresql":
            # Every kiosk row the group will write, locked here in one pass in id
            # order: later writes (the ORM's, _write_seen's) take no new row lock,
            # so concurrent workers queue instead of deadlocking. NO KEY UPDATE,
            # the lock an UPDATE of non-key columns takes anyway, does not conflict
            # with the KEY SHARE locks that punch and alert inserts take on their
            # kiosk (foreign keys); FOR UPDATE did (tests/fleet/test_lock_order.py).
            query = query.order_by(Kiosk.id).with_for_update(key_share=True)
            query = query.execution_options(populate_existing=True)
        kiosks = list(session.exec(query))
        for alert in session.exec(
            select(KioskAlert).where(col(KioskAlert.kiosk_id).in_(ids), col(KioskAlert.resolved_at).is_(None))
        ):
            cache[alert.kiosk_id].append(alert)
    session.info[OPEN_ALERTS] = cache
    session.info[SEEN] = {}
    try:
        yield
        _write_seen(session, session.info[SEEN])
    finally:
        session.info.pop(OPEN_ALERTS, None)
        session.info.pop(SEEN, None)
        del kiosks


def seen(session: Session, kiosk: Kiosk, online: bool, now: datetime) -> None:
    """Set a kiosk's online and last_seen. In a batch, every birth changes them,
    usually nothing else: they are written for all the group's kiosks with one
    statement at the batch's end (the ORM would send an UPDATE per kiosk, the
    larger part of a storm's birth cost), and set on the object without history
    so that the ORM does not write them again, nor an older value after them."""
    pending = session.info.get(SEEN)
    if pending is None:
        kiosk.online, kiosk.last_seen = online, now
        return
    set_committed_value(kiosk, "online", online)
    set_committed_value(kiosk, "last_seen", now)
    pending[kiosk.id] = (online, now)


def settle(session: Session, kiosk: Kiosk) -> None:
    """Before the ORM changes online or last_seen itself (a heartbeat after a
    birth in the same group): hand the pending values back to the ORM, so that
    it writes them and then the newer ones, in their order."""
    pending = session.info.get(SEEN)
    if pending and pending.pop(kiosk.id, None) is not None:
        flag_modified(kiosk, "online")
        flag_modified(kiosk, "last_seen")


def _write_seen(session: Session, pending: dict[str, tuple[bool, datetime]]) -> None:
    if not pending:
        return
    ids = sorted(pending)
    if session.get_bind().dialect.name != "postgresql":
        table = Kiosk.__table__  # type: ignore[attr-defined]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("kid"))
            .values(online=bindparam("on"), last_seen=bindparam("at"))
        )
        session.execute(stmt, [{"kid": k, "on": pending[k][0], "at": pending[k][1]} for k in ids])
        return
    # The rows are locked since batch() read them.
    params = {
        "ids": ids,
        "online": [pending[k][0] for k in ids],
        "seen": [pending[k][1] for k in ids],
    }
    session.execute(
        text(
            "UPDATE kiosk SET online = v.online, last_seen = v.seen FROM unnest(CAST(:ids AS text[]), "
            "CAST(:online AS boolean[]), CAST(:seen AS timestamptz[])) AS v(id, online, seen) "
            "WHERE kiosk.id = v.id"
        ),
        params,
    )


def open_alerts(session: Session, kiosk_id: str, kind: str) -> list[KioskAlert]:
    cache = session.info.get(OPEN_ALERTS, {})
    if kiosk_id in cache:
        return [a for a in cache[kiosk_id] if a.kind == kind and a.resolved_at is None]
    return list(
        session.exec(
            select(KioskAlert).where(
                KioskAlert.kiosk_id == kiosk_id,
                KioskAlert.kind == kind,
                col(KioskAlert.resolved_at).is_(None),
            )
        )
    )


def add_alert(session: Session, alert: KioskAlert) -> None:
    session.add(alert)
    cache = session.info.get(OPEN_ALERTS, {})
    if alert.kiosk_id in cache:
        cache[alert.kiosk_id].append(alert)


def open_alert(session: Session, kiosk_id: str, kind: str, detail: str, now: datetime) -> KioskAlert | None:
    if open_alerts(session, kiosk_id, kind):
        return None
    alert = KioskAlert(kiosk_id=kiosk_id, kind=kind, detail=detail, created_at=now)
    add_alert(session, alert)
    return alert


def resolve(session: Session, kiosk_id: str, kind: str, now: datetime) -> int:
    """Close every open alert of `kind` on a kiosk; returns how many were open."""
    open_ = open_alerts(session, kiosk_id, kind)
    for alert in open_:
        alert.resolved_at = now
        session.add(alert)
    return len(open_)


def open_kinds(session: Session, kiosk_id: str) -> set[str]:
    cache = session.info.get(OPEN_ALERTS, {})
    if kiosk_id in cache:
        return {a.kind for a in cache[kiosk_id] if a.resolved_at is None}
    return set(
        session.exec(
            select(KioskAlert.kind).where(
                col(KioskAlert.kiosk_id) == kiosk_id, col(KioskAlert.resolved_at).is_(None)
            )
        ).all()
    )


def _set(session, kiosk_id, kind, active: bool, detail: str, now, known_open: set[str] | None = None) -> None:
    """Open or resolve a condition alert. With known_open (the kiosk's open kinds,
    read once) a heartbeat that changes nothing costs no query."""
    if known_open is not None and active == (kind in known_open):
        return
    if active:
        open_alert(session, kiosk_id, kind, detail, now)
    else:
        resolve(session, kiosk_id, kind, now)
    if known_open is not None:
        (known_open.add if active else known_open.discard)(kind)


def is_online(kiosk: Kiosk, now: datetime, settings: Settings) -> bool:
    """Birth seen and a heartbeat within fleet_offline_after_s."""
    return bool(
        kiosk.online
        and kiosk.last_seen
        and kiosk.last_seen >= now - timedelta(seconds=settings.fleet_offline_after_s)
    )


# Statuses in which nobody expects the kiosk to be connected (grey, never red).
NOT_IN_SERVICE = frozenset(
    {KioskStatus.IN_STOCK, KioskStatus.RETRIEVED, KioskStatus.BROKEN, KioskStatus.LOST}
)


def connection(kiosk: Kiosk, now: datetime, settings: Settings) -> str:
    """The one rule every page shows: "online", "offline" (expected online, silent), "never"
    (installed, never connected yet) or "idle" (in stock, retrieved, broken, lost: grey)."""
    if is_online(kiosk, now, settings):
        return "online"
    if KioskStatus(kiosk.status) in NOT_IN_SERVICE:
        return "idle"
    return "offline" if kiosk.last_seen else "never"


def check_firmware(session: Session, kiosk: Kiosk, now: datetime) -> None:
    wrong = []
    if kiosk.firmware_target and kiosk.firmware and kiosk.firmware != kiosk.firmware_target:
        wrong.append(f"runs {kiosk.firmware}, expected {kiosk.firmware_target}")
    if (
        kiosk.firmware_target_hash
        and kiosk.firmware_hash
        and kiosk.firmware_hash != kiosk.firmware_target_hash
    ):
        wrong.append(
            f"image hash {kiosk.firmware_hash[:16]}… is not the released {kiosk.firmware_target_hash[:16]}…"
        )
    _set(
        session,
        kiosk.id,
        "firmware_mismatch",
        bool(wrong),
        "; ".join(wrong) + ": update it (noxus kiosk show) or fix firmware_target",
        now,
    )


def note_boot(session: Session, kiosk: Kiosk, boot: int, now: datetime, settings: Settings) -> None:
    """Count boots in a window; a kiosk rebooting in a loop gets an alert."""
    if kiosk.boot is None or boot == kiosk.boot:
        kiosk.boot = boot
        return
    kiosk.boot = boot
    window = timedelta(minutes=settings.fleet_reboot_window_minutes)
    if kiosk.reboot_window_start is None or now - kiosk.reboot_window_start > window:
        kiosk.reboot_window_start, kiosk.reboot_count = now, 1
        resolve(session, kiosk.id, "repeated_reboots", now)
    else:
        kiosk.reboot_count += 1
    if kiosk.reboot_count >= settings.fleet_reboot_alert_count:
        open_alert(
            session,
            kiosk.id,
            "repeated_reboots",
            f"{kiosk.reboot_count} reboots within {settings.fleet_reboot_window_minutes} min "
            "(power supply, watchdog or crash loop): check the kiosk on site",
            now,
        )


def on_telemetry(session: Session, kiosk: Kiosk, body: dict, now: datetime, settings: Settings) -> None:
    # The hot path (every kiosk, every minute): one query for the open alerts.
    known = open_kinds(session, kiosk.id)
    fill = body.get("fill")
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):
        _set(
            session,
            kiosk.id,
            "journal_fill",
            fill >= settings.fleet_journal_alert_fill,
            f"journal {fill:.0%} full: the kiosk cannot deliver punches (network or backend); "
            "it stops recording when full",
            now,
            known,
        )
    flash = body.get("flash_free")
    if isinstance(flash, int) and not isinstance(flash, bool):
        _set(
            session,
            kiosk.id,
            "low_flash",
            flash < settings.fleet_low_flash_bytes,
            f"{flash // 1024} KiB of flash free (< {settings.fleet_low_flash_bytes // 1024} KiB)",
            now,
            known,
        )

    skew = None
    ts = body.get("ts")
    if isinstance(ts, int) and not isinstance(ts, bool) and ts > 0:
        skew = round(ts / 1000 - now.timestamp(), 3)
        limit = settings.fleet_clock_skew_s
        prev, prev_at = kiosk.clock_skew_s, kiosk.last_telemetry_at
        confirmed = (
            skew > limit  # ahead: no delivery delay explains that
            or (
                prev is not None
                and abs(prev) > limit
                and prev_at is not None
                and (now - prev_at).total_seconds() >= SKEW_CONFIRM_S
            )
        )
        if abs(skew) <= limit or confirmed:
            _set(
                session,
                kiosk.id,
                "clock_skew",
                abs(skew) > limit,
                f"kiosk clock is {skew:+.0f} s off (limit {limit} s): check its NTP/RTC; "
                "its punches carry that time",
                now,
                known,
            )
    kiosk.clock_skew_s = skew
    kiosk.last_telemetry_at = now
    telemetry.add_sample(session, kiosk.id, now, body, skew)


def sweep(session: Session, now: datetime, settings: Settings) -> dict:
    """Periodic checks (run by `noxus fleet sweep`, a systemd timer, every minute):
    silent kiosks become offline, long-offline deployed kiosks raise an alert,
    old telemetry is folded. The caller commits."""
    stale = now - timedelta(seconds=settings.fleet_offline_after_s)
    went_offline = 0
    for kiosk in session.exec(
        select(Kiosk).where(
            col(Kiosk.online).is_(True), or_(col(Kiosk.last_seen).is_(None), col(Kiosk.last_seen) < stale)
        )
    ):
        kiosk.online = False
        session.add(kiosk)
        went_offline += 1
    alert_before = now - timedelta(minutes=settings.fleet_offline_alert_minutes)
    alerted = 0
    for kiosk in session.exec(select(Kiosk).where(col(Kiosk.status).in_([s.value for s in AT_CUSTOMER]))):
        since = kiosk.last_seen or kiosk.installed_at
        if not is_online(kiosk, now, settings) and since is not None and since < alert_before:
            minutes = int((now - since).total_seconds() // 60)
            if open_alert(
                session,
                kiosk.id,
                "offline",
                f"no heartbeat for {minutes} min (site {kiosk.site_id}): check power and network on site",
                now,
            ):
                alerted += 1
        if (
            kiosk.reboot_window_start is not None
            and kiosk.reboot_count
            and now - kiosk.reboot_window_start > timedelta(minutes=settings.fleet_reboot_window_minutes)
        ):
            resolve(session, kiosk.id, "repeated_reboots", now)
    folded = telemetry.downsample(
        session, now, settings.fleet_telemetry_raw_hours, settings.fleet_telemetry_keep_days
    )
    return {"went_offline": went_offline, "offline_alerts": alerted, "telemetry_folded": folded}
