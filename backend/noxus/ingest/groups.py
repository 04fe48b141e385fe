"""What every ingest worker (Mosquitto, NATS) does with a group of messages,
whatever its broker: commit it in one transaction, retry while the database
refuses, count it, and the app acks to publish once it is committed."""

import logging
import time
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session

from firmware.core import protocol
from noxus.ingest import metrics
from noxus.ingest.service import Incoming, Outcome, ingest

log = logging.getLogger("noxus.ingest")

RETRY_MIN_S = 0.5  # database retry backoff: quick for a blip...
RETRY_MAX_S = 10.0  # ...patient for an outage


def commit(engine: Engine, incoming: list[Incoming], accept_unknown: bool) -> Outcome:
    """One transaction; raises if the database refuses (the caller retries, never acks)."""
    started = time.monotonic()
    with Session(engine) as session:
        outcome = ingest(session, incoming, accept_unknown)
        session.commit()
    metrics.COMMIT_SECONDS.observe(time.monotonic() - started)
    metrics.DB_UP.set(1)
    return outcome


def retry_delays() -> Iterator[float]:
    """Seconds to wait before each retry of a refused commit: doubling, capped."""
    delay = RETRY_MIN_S
    while True:
        yield delay
        delay = min(delay * 2, RETRY_MAX_S)


def refused(waiting: int, delay: float, error: Exception) -> None:
    metrics.DB_ERRORS.inc()
    metrics.DB_UP.set(0)
    log.warning(
        "database error, %d messages wait (retry in %.1fs): %s",
        waiting,
        delay,
        str(error).splitlines()[0],
    )


def app_acks(outcome: Outcome) -> list[tuple[str, bytes]]:
    """(MQTT topic, payload) of each kiosk journal's app ack, to publish after the COMMIT."""
    return [
        (protocol.topic(kiosk_id, protocol.ACK), protocol.encode_ack(kiosk_id, upto, epoch))
        for (kiosk_id, epoch), upto in outcome.acks.items()
    ]


def account(totals: Outcome, outcome: Outcome, messages: int) -> None:
    """Count an acked group in the metrics and in the worker's totals."""
    metrics.MESSAGES.inc(messages)
    metrics.GROUP_SIZE.observe(messages)
    metrics.STORED.inc(outcome.stored)
    metrics.DUPLICATES.inc(outcome.duplicates)
    metrics.DEAD.inc(outcome.dead)
    metrics.LOST.inc(outcome.lost)
    totals.stored += outcome.stored
    totals.duplicates += outcome.duplicates
    totals.dead += outcome.dead
    totals.lost += outcome.lost
    if outcome.dead or outcome.lost:
        log.warning("%d dead letter(s), %d lost seq(s) in this group", outcome.dead, outcome.lost)


def stopped(totals: Outcome) -> None:
    log.info(
        "stopped: %d stored, %d duplicates, %d dead letters", totals.stored, totals.duplicates, totals.dead
    )
