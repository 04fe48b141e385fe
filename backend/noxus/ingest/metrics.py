"""Prometheus metrics of one ingest worker process (prometheus-client).

Each ingest worker counts what it does (messages, punches, ack latency) in its own process and
serves them on NOXUS_INGEST_METRICS_PORT; the API's /metrics (noxus.ops.metrics) adds the
fleet-wide gauges. Sum the workers in PromQL: sum(rate(noxus_ingest_punches_stored_total[5m])).
"""

from prometheus_client import Counter, Gauge, Histogram

from noxus.core.settings import Settings

MESSAGES = Counter("noxus_ingest_messages", "MQTT messages committed and acked by this worker")
STORED = Counter("noxus_ingest_punches_stored", "Punches newly stored")
RESENDS_SKIPPED = Counter(
    "noxus_ingest_resends_skipped",
    "Punch batches received again while the first copy still waited for its commit (PUBACKed, not queued)",
)
DUPLICATES = Counter("noxus_ingest_punches_duplicate", "Punches received again and not stored twice")
DEAD = Counter("noxus_ingest_dead_letters", "Messages put in dead_letter")
LOST = Counter("noxus_ingest_punches_lost", "Seqs a kiosk no longer holds and never delivered")
DB_ERRORS = Counter("noxus_ingest_db_errors", "Failed commits (each one retried; nothing acked)")
ACK_LATENCY = Histogram(
    "noxus_ingest_ack_latency_seconds",
    "From a message's arrival at the worker to its PUBACK",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
COMMIT_SECONDS = Histogram(
    "noxus_ingest_commit_seconds",
    "One group commit (ingest + COMMIT), successful attempts",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
GROUP_SIZE = Histogram(
    "noxus_ingest_group_messages",
    "Messages per group commit",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
QUEUE_DEPTH = Gauge("noxus_ingest_queue_depth", "Messages received and waiting for the database")
CONNECTED = Gauge("noxus_ingest_broker_connected", "1 while connected to the broker")
DB_UP = Gauge("noxus_ingest_database_up", "0 while commits fail (backpressure: nothing is acked)")


def serve_worker_metrics(settings: Settings) -> None:
    """Expose this worker's metrics over HTTP (a daemon thread)."""
    if settings.ingest_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.ingest_metrics_port, addr=settings.ingest_metrics_host)
