"""Online state and alert rules from births, deaths and heartbeats."""

from datetime import UTC, datetime, timedelta

from noxus.core.settings import get_settings
from noxus.fleet import service
from noxus.fleet.models import Kiosk, KioskAlert, KioskCreate, KioskTelemetry
from noxus.fleet.monitor import sweep
from noxus.fleet.status import change_status
from sqlalchemy import event
from sqlmodel import Session, select

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def beat(s, kiosk_id, at, **body):
    body = {"boot": 1, "uptime_ms": 1000, "pending": 0, "fill": 0.1, "ts": int(at.timestamp() * 1000), **body}
    service.record_telemetry(s, kiosk_id, {"v": 1, "kiosk": kiosk_id, **body}, now=at)
    s.flush()


def alerts(s, kind=None):
    q = select(KioskAlert).order_by(KioskAlert.id)
    if kind:
        q = q.where(KioskAlert.kind == kind)
    return s.exec(q).all()


def kiosk(engine, site=None, **kw):
    s = Session(engine)
    k = service.register(s, KioskCreate(id="K1", **kw))
    if site:
        change_status(s, k, "deployed", "anna", site_id=site[1], at=T0 - timedelta(days=1))
    s.flush()
    return s


def test_journal_over_80_percent_opens_one_alert_that_clears_when_it_drains(engine):
    with kiosk(engine) as s:
        for minute, fill in enumerate([0.5, 0.81, 0.9, 0.95, 0.3]):
            beat(s, "K1", T0 + timedelta(minutes=minute), fill=fill)
        (alert,) = alerts(s, "journal_fill")
        assert alert.created_at == T0 + timedelta(minutes=1)
        assert alert.resolved_at == T0 + timedelta(minutes=4)


def test_kiosk_clock_ahead_alerts_at_once(engine):
    with kiosk(engine) as s:
        beat(s, "K1", T0, ts=int((T0 + timedelta(seconds=300)).timestamp() * 1000))
        (alert,) = alerts(s, "clock_skew")
        assert "+300 s" in alert.detail


def test_old_telemetry_drained_after_an_outage_is_not_taken_for_clock_skew(engine):
    # 10 heartbeats queued during a 10-minute outage arrive within a second.
    with kiosk(engine) as s:
        for i in range(10):
            sent = T0 + timedelta(minutes=i)
            beat(s, "K1", T0 + timedelta(minutes=10, milliseconds=50 * i), ts=int(sent.timestamp() * 1000))
        assert alerts(s, "clock_skew") == []
        assert s.get(Kiosk, "K1").clock_skew_s < -60  # the sample is kept, for what it is worth


def test_a_clock_behind_is_alerted_once_two_live_heartbeats_agree(engine):
    with kiosk(engine) as s:
        for i in range(3):
            at = T0 + timedelta(minutes=i)
            beat(s, "K1", at, ts=int((at - timedelta(seconds=200)).timestamp() * 1000))
        (alert,) = alerts(s, "clock_skew")
        assert alert.created_at == T0 + timedelta(minutes=1) and "-200 s" in alert.detail


def test_low_flash_and_firmware_mismatch(engine):
    with kiosk(engine, firmware_target="1.4.0") as s:
        service.record_state(
            s, "K1", {"v": 1, "kiosk": "K1", "online": True, "boot": 3, "fw": "1.3.9"}, now=T0
        )
        beat(s, "K1", T0, flash_free=20_000, boot=3)
        kinds = {a.kind for a in alerts(s)}
        assert kinds == {"low_flash", "firmware_mismatch"}
        assert "runs 1.3.9, expected 1.4.0" in alerts(s, "firmware_mismatch")[0].detail
        service.record_state(
            s,
            "K1",
            {"v": 1, "kiosk": "K1", "online": True, "boot": 4, "fw": "1.4.0"},
            now=T0 + timedelta(minutes=5),
        )
        assert alerts(s, "firmware_mismatch")[0].resolved_at is not None


def test_three_reboots_within_an_hour_raise_repeated_reboots(engine):
    with kiosk(engine) as s:
        for i, boot in enumerate([10, 11, 12, 13]):
            service.record_state(
                s,
                "K1",
                {"v": 1, "kiosk": "K1", "online": True, "boot": boot},
                now=T0 + timedelta(minutes=5 * i),
            )
            s.flush()
        (alert,) = alerts(s, "repeated_reboots")
        assert alert.detail.startswith("3 reboots within 60 min")
        service.record_state(
            s, "K1", {"v": 1, "kiosk": "K1", "online": True, "boot": 13}, now=T0 + timedelta(minutes=30)
        )  # a reconnect, not a reboot
        assert s.get(Kiosk, "K1").reboot_count == 3


def test_silent_deployed_kiosk_goes_offline_then_alerts_and_recovers(engine, site):
    settings = get_settings()
    with kiosk(engine, site=site) as s:
        service.record_state(s, "K1", {"v": 1, "kiosk": "K1", "online": True, "boot": 1}, now=T0)
        beat(s, "K1", T0)
        assert sweep(s, T0 + timedelta(minutes=2), settings)["went_offline"] == 0
        assert sweep(s, T0 + timedelta(minutes=4), settings)["went_offline"] == 1
        assert s.get(Kiosk, "K1").online is False and alerts(s, "offline") == []
        assert sweep(s, T0 + timedelta(minutes=16), settings)["offline_alerts"] == 1
        assert sweep(s, T0 + timedelta(minutes=17), settings)["offline_alerts"] == 0  # once
        beat(s, "K1", T0 + timedelta(minutes=20))
        (alert,) = alerts(s, "offline")
        assert alert.resolved_at == T0 + timedelta(minutes=20) and s.get(Kiosk, "K1").online


def test_a_death_message_marks_the_kiosk_offline_at_once(engine):
    with kiosk(engine) as s:
        service.record_state(s, "K1", {"v": 1, "kiosk": "K1", "online": True, "boot": 1}, now=T0)
        service.record_state(s, "K1", {"v": 1, "kiosk": "K1", "online": False}, now=T0 + timedelta(seconds=5))
        assert s.get(Kiosk, "K1").online is False


def test_telemetry_older_than_48_hours_is_folded_into_hourly_rows(engine):
    with kiosk(engine) as s:
        for minute in range(120):  # two hours of heartbeats
            beat(s, "K1", T0 + timedelta(minutes=minute), fill=minute / 1000, pending=minute)
        s.commit()
        now = T0 + timedelta(hours=49, minutes=30)
        out = sweep(s, now, get_settings())
        s.commit()
        assert out["telemetry_folded"] == 60  # the first hour only; the second is not 48 h old yet
        hourly = s.exec(select(KioskTelemetry).where(KioskTelemetry.resolution == "hour")).all()
        assert [(h.at, h.samples, h.pending, h.fill) for h in hourly] == [(T0, 60, 59, 0.059)]
        assert sweep(s, now, get_settings())["telemetry_folded"] == 0  # idempotent
        raw = s.exec(select(KioskTelemetry).where(KioskTelemetry.resolution == "raw")).all()
        assert len(raw) == 60


def _births_in_one_batch(engine, prefix: str, n: int) -> tuple[int, Session]:
    """n kiosks with a wrong firmware: a first birth opens firmware_mismatch,
    a second one (right firmware) resolves it, all in one batch()."""
    s = Session(engine)
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    for kiosk_id in ids:
        service.register(s, KioskCreate(id=kiosk_id, firmware_target="1.4.0"))
    s.commit()
    selects = []
    listener = lambda _c, _cur, stmt, *_: selects.append(stmt) if stmt.lstrip().startswith("SELECT") else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with service.batch(s, ids):
            for kiosk_id in ids:
                for fw in ("1.3.9", "1.4.0"):
                    birth = {"v": 1, "kiosk": kiosk_id, "online": True, "boot": 1, "fw": fw}
                    service.record_state(s, kiosk_id, birth, now=T0)
        s.flush()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(selects), s


def test_a_batch_of_births_reads_each_kiosk_and_its_alerts_once_for_all(engine):
    few, s = _births_in_one_batch(engine, "A", 3)
    with s:
        assert [(a.kiosk_id, a.resolved_at) for a in alerts(s, "firmware_mismatch")] == [
            (f"A{i:03d}", T0) for i in range(3)
        ]
        assert all(k.online and k.firmware == "1.4.0" for k in s.exec(select(Kiosk)))
    many, s = _births_in_one_batch(engine, "B", 30)
    s.close()
    assert few == many  # queries per group, not per kiosk
