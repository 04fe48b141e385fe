"""(c)'s receiving side: the real IngestWorker, in its own process as in
production (`noxus ingest`), on the bench's broker and database.

    python -m bench.worker_proc DATABASE_URL MQTT_PORT CLIENT_ID

NOXUS_BENCH_PROFILE=/tmp/w.prof writes a cProfile of the database thread to
/tmp/w.prof.<pid> when the worker stops.
"""

import logging
import os
import sys

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.core.settings import Settings
from noxus.ingest.worker import IngestWorker


def main(url: str, port: int, client_id: str) -> None:
    logging.basicConfig(level=logging.WARNING, format="worker: %(message)s")
    settings = Settings(
        database_url=url,
        mqtt_host="127.0.0.1",
        mqtt_port=port,
        ingest_client_id=client_id,
        ingest_share_group=client_id,
    )
    worker = IngestWorker(settings, make_engine(url))
    worker.install_signal_handlers()
    profile = os.environ.get("NOXUS_BENCH_PROFILE")
    if not profile:
        worker.run()
        return
    # The database thread is this one (paho's network thread is not profiled).
    import cProfile

    cProfile.runctx("worker.run()", globals(), {"worker": worker}, profile + f".{os.getpid()}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
