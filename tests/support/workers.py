"""What every pool of `noxus ingest` worker processes in the tests offers: reading a
worker's Prometheus metrics and waiting until each holds its broker connection."""

import time
import urllib.request


class WorkerMetrics:
    """Mixin: the class holds `procs`, `ports` (metrics ports) and `logs`, one per worker."""

    procs: list
    ports: list
    logs: list
    metrics_timeout_s = 30.0  # one HTTP read of /metrics
    connect_timeout_s = 60.0  # every worker connected to its broker

    def metric(self, i, name) -> float:
        url = f"http://127.0.0.1:{self.ports[i]}/metrics"
        body = urllib.request.urlopen(url, timeout=self.metrics_timeout_s).read().decode()
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not in worker {i + 1}'s metrics")

    def wait_connected(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.connect_timeout_s)
        for i, p in enumerate(self.procs):
            while True:
                try:
                    if self.metric(i, "noxus_ingest_broker_connected") == 1:
                        break
                except OSError:
                    pass
                assert p.poll() is None, self.logs[i].read_text()
                assert time.monotonic() < deadline, (
                    f"worker {i + 1} did not connect:\n{self.logs[i].read_text()}"
                )
                time.sleep(0.1)
