"""NoxusTime benchmarks: `python -m bench` (`make bench`).

In one run, on one private Mosquitto and the same databases (SQLite, and
PostgreSQL when reachable), it measures
  (a) raw paho QoS 1 publish -> subscribe of the kiosks' messages,
  (b) raw batched INSERT of the same number of punch-shaped rows,
  (c) NoxusTime's durable ingest: publish -> IngestWorker commit -> app ack
      received on noxus/v1/<kiosk>/ack,
and writes the table into docs/benchmarks.md (see that file for the method).
"""
