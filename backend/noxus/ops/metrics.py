"""Prometheus metrics (prometheus-client).

Two sources, because the API and the ingest workers are separate processes:
- each ingest worker counts what it does (messages, punches, ack latency) in
  its own process and serves them on NOXUS_INGEST_METRICS_PORT;
- the API's /metrics adds fleet-wide gauges read from the database at scrape
  time (kiosks online, by status, open alerts, dead letters), so they are
  right whichever worker did the work. Sum the workers in PromQL:
  sum(rate(noxus_ingest_punches_stored_total[5m])).
"""

from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, select

from noxus.core.settings import Settings
from noxus.core.types import utcnow

# --- ingest worker (one set per process) --------------------------------
MESSAGES = Counter("noxus_ingest_messages", "MQTT messages committed and acked by this worker")
STORED = Counter("noxus_ingest_punches_stored", "Punches newly stored")
DUPLICATES = Counter("noxus_ingest_punches_duplicate", "Punches received again and not stored twice")
DEAD = Counter("noxus_ingest_dead_letters", "Messages put in dead_letter")
LOST = Counter("noxus_ingest_punches_lost", "Seqs a kiosk no longer holds and never delivered")
DB_ERRORS = Counter("noxus_ingest_db_errors", "Failed commits (each one retried; nothing acked)")
ACK_LATENCY = Histogram(
    "noxus_ingest_ack_latency_seconds", "From a message's arrival at the worker to its PUBACK",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
COMMIT_SECONDS = Histogram(
    "noxus_ingest_commit_seconds", "One group commit (ingest + COMMIT), successful attempts",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
GROUP_SIZE = Histogram("noxus_ingest_group_messages", "Messages per group commit",
                       buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000))
QUEUE_DEPTH = Gauge("noxus_ingest_queue_depth", "Messages received and waiting for the database")
CONNECTED = Gauge("noxus_ingest_broker_connected", "1 while connected to the broker")
DB_UP = Gauge("noxus_ingest_database_up", "0 while commits fail (backpressure: nothing is acked)")


def serve_worker_metrics(settings: Settings) -> None:
    """Expose this worker's metrics over HTTP (a daemon thread)."""
    if settings.ingest_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.ingest_metrics_port, addr=settings.ingest_metrics_host)


# --- fleet-wide gauges for the API's /metrics ---------------------------
def fleet_registry(session: Session, settings: Settings) -> CollectorRegistry:
    from noxus.fleet.models import Kiosk, KioskAlert, KioskStatus
    from noxus.ingest.models import DeadLetter

    registry = CollectorRegistry(auto_describe=False)
    fresh = utcnow() - timedelta(seconds=settings.fleet_offline_after_s)
    online = session.exec(select(func.count()).select_from(Kiosk).where(
        Kiosk.online.is_(True), Kiosk.last_seen >= fresh)).one()
    by_status = dict(session.exec(select(Kiosk.status, func.count()).group_by(Kiosk.status)).all())
    alerts = dict(session.exec(select(KioskAlert.kind, func.count()).where(
        KioskAlert.resolved_at.is_(None)).group_by(KioskAlert.kind)).all())
    dead = session.exec(select(func.count()).select_from(DeadLetter)).one()

    class _Fleet:
        def collect(self):
            yield GaugeMetricFamily("noxus_kiosks_online", "Kiosks with a birth and a recent heartbeat",
                                    value=online)
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
