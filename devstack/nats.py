"""A private NATS cluster (nats-server 2.9) on this machine: N nodes with
JetStream and the MQTT gateway, each on its own free ports and data folder.
For the tests and benchmarks; the production layout is docs/deployment.md.

Each node listens for NATS clients (the ingest workers), MQTT 3.1.1 clients
(the kiosks), cluster routes (the other nodes) and HTTP monitoring (/healthz,
/jsz). The MQTT gateway keeps its sessions and retained messages in JetStream
streams with `stream_replicas` copies, so a kiosk may reconnect to any node;
the kiosks' subscriptions are one-copy in-memory consumers, as in production.
"""

import json
import pathlib
import shutil
import signal
import subprocess
import time
import urllib.request
from typing import Self

from devstack.broker import free_port, wait_port

CONF = """\
server_name: {name}
listen: 127.0.0.1:{client}
http: 127.0.0.1:{http}
max_payload: 1MB
jetstream {{
  store_dir: "{data}/js"
  max_memory_store: 256MB
  max_file_store: 4GB
}}
{cluster}
mqtt {{
  listen: 127.0.0.1:{mqtt}
  # the MQTT gateway's own streams (sessions, retained messages, QoS 1
  # deliveries to kiosks) survive the loss of a node
  stream_replicas: {replicas}
  ack_wait: "10s"
  max_ack_pending: 1024
  # as deploy/nats/nats-server.conf: each kiosk's QoS 1 subscription is a
  # consumer held by one node, in memory, so a connect after a restart of the
  # whole cluster does not wait for a replicated consumer (docs/benchmarks.md)
  consumer_replicas: 1
  consumer_memory_storage: true
{mqtt_extra}
}}
"""

CLUSTER = """\
cluster {{
  name: noxus
  listen: 127.0.0.1:{port}
  routes: [{routes}]
}}
"""


class NatsNode:
    def __init__(self, root: pathlib.Path, name: str):
        self.name = name
        self.data = root / name
        self.data.mkdir(parents=True, exist_ok=True)
        self.client_port, self.mqtt_port, self.http_port, self.cluster_port = (free_port() for _ in range(4))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def varz(self, what: str = "jsz") -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/{what}", timeout=2) as r:
            return json.loads(r.read())

    def healthy(self) -> bool:
        """/healthz answers 200 once this node's JetStream is caught up with the cluster."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class NatsCluster:
    """`size` nodes (1 gives a single broker with the same configuration)."""

    def __init__(self, root: pathlib.Path, size: int = 3, exe: str | None = None, mqtt_extra: str = ""):
        self.exe = exe or shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not pathlib.Path(self.exe).exists():
            raise RuntimeError("nats-server is not installed: apt-get install nats-server")
        self.root = pathlib.Path(root)
        self.nodes = [NatsNode(self.root, f"n{i + 1}") for i in range(size)]
        self.replicas = min(3, size)
        self.mqtt_extra = mqtt_extra  # more lines for the mqtt block (bench.cluster_storm --nats-mqtt)

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def mqtt_ports(self) -> list[int]:
        return [n.mqtt_port for n in self.nodes]

    def _conf(self, node: NatsNode) -> pathlib.Path:
        cluster = ""
        if len(self.nodes) > 1:
            routes = ", ".join(
                f"nats-route://127.0.0.1:{o.cluster_port}" for o in self.nodes if o is not node
            )
            cluster = CLUSTER.format(port=node.cluster_port, routes=routes)
        conf = node.data / "nats.conf"
        conf.write_text(
            CONF.format(
                name=node.name,
                client=node.client_port,
                http=node.http_port,
                data=node.data,
                cluster=cluster,
                mqtt=node.mqtt_port,
                replicas=self.replicas,
                mqtt_extra=self.mqtt_extra,
            )
        )
        return conf

    def start_node(self, i: int) -> None:
        node = self.nodes[i]
        conf = self._conf(node)
        log = (node.data / "nats.log").open("ab")
        node.proc = subprocess.Popen([self.exe, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_port(node.client_port, 30)
        wait_port(node.mqtt_port, 30)

    def stop_node(self, i: int) -> None:
        """SIGTERM: the node shuts down cleanly (a rolling restart's step)."""
        node = self.nodes[i]
        if node.running():
            node.proc.terminate()
            node.proc.wait(30)
        node.proc = None

    def kill_node(self, i: int) -> None:
        """SIGKILL: no shutdown, no goodbye to the routes; what the node held
        only in memory is gone."""
        node = self.nodes[i]
        if node.running():
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait(10)
        node.proc = None

    def start(self, timeout: float = 60) -> "NatsCluster":
        for i in range(len(self.nodes)):
            self.start_node(i)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60, caught_up: bool = True) -> None:
        """Every running node healthy and a JetStream meta leader elected.

        caught_up=False (a node restarted into a running cluster): the meta leader is enough.
        NATS 2.9 can keep one stale MQTT-session consumer "not current" on the restarted node
        for minutes (its raft catch-up retries, seen in CI) while the node serves MQTT and
        JetStream; whether anything was lost is what the caller proves next, not /healthz."""
        deadline = time.monotonic() + timeout
        while True:
            running = [n for n in self.nodes if n.running()]
            try:
                if (not caught_up or all(n.healthy() for n in running)) and all(
                    len(self.nodes) == 1 or n.varz("jsz").get("meta_cluster", {}).get("leader")
                    for n in running
                ):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"NATS cluster not ready after {timeout}s (logs in {self.root})")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            if node.running():
                node.proc.terminate()
                try:
                    node.proc.wait(10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(10)
            node.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
