"""Prometheus metrics (prometheus-client).

The API's /metrics: fleet-wide gauges read from the database at scrape time (kiosks online,
by status, open alerts, dead letters), so they are right whichever worker did the work. Each
ingest worker serves its own counters (noxus.ingest.metrics) in its own process.
"""

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, col, select

import noxus.ingest.metrics  # noqa: F401  (the worker counters, defined in the API process too)
from noxus.core.settings import Settings
from noxus.core.types import utcnow


# --- fleet-wide gauges for the API's /metrics ---------------------------
def fleet_registry(session: Session, settings: Settings) -> CollectorRegistry:
    from noxus.fleet.models import Kiosk, KioskAlert, KioskStatus
    from noxus.ingest.models import DeadLetter

    registry = CollectorRegistry(auto_describe=False)
    fresh = utcnow() - timedelta(seconds=settings.fleet_offline_after_s)
    online = session.exec(
        select(func.count())
        .select_from(Kiosk)
        .where(col(Kiosk.online).is_(True), col(Kiosk.last_seen) >= fresh)
    ).one()
    by_status = dict(session.exec(select(Kiosk.status, func.count()).group_by(Kiosk.status)).all())
    alerts = dict(
        session.exec(
            select(KioskAlert.kind, func.count())
            .where(col(KioskAlert.resolved_at).is_(None))
            .group_by(KioskAlert.kind)
        ).all()
    )
    dead = session.exec(select(func.count()).select_from(DeadLetter)).one()

    class _Fleet:
        def collect(self):
            yield GaugeMetricFamily(
                "noxus_kiosks_online", "Kiosks with a birth and a recent heartbeat", value=online
            )
            g = GaugeMetricFamily("noxus_kiosks", "Kiosks in the register by asset status", labels=["status"])
            for s in KioskStatus:
                g.add_metric([s.value], by_status.get(s.value, 0))
            yield g
            a = GaugeMetricFamily("noxus_kiosk_alerts_open", "Unresolved kiosk alerts", labels=["kind"])
            for kind, n in sorted(alerts.items()):
                a.add_metric([kind], n)
            yield a
            yield GaugeMetricFamily("noxus_dead_letters", "Messages waiting in dead_letter", value=dead)

    registry.register(_Fleet())
    return registry


def exposition(session: Session, settings: Settings) -> bytes:
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY) + generate_latest(fleet_registry(session, settings))
