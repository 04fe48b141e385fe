"""The kiosk's MQTT link against a real Mosquitto, on CPython and on the
MicroPython Unix port (tests/firmware_core/link_session.py): a SUBSCRIBE lost
with the connection is sent again when the broker resumes the session, and a
kiosk given [dead broker, live broker] connects to the live one after a
jittered, bounded delay drawn from a seeded random source.
docs/protocol.md, "Kiosk configuration"."""

import os
import socket
import subprocess
import sys
import threading

import pytest
from lcg import Lcg
from mp_runner import HERE, run_micropython

from devstack.broker import free_port
from devstack.kiosks import REPO
from firmware.core import reconnect as R

SUBSCRIBE = 0x82  # MQTT 3.1.1 fixed header of a SUBSCRIBE


def packets(buf: bytearray):
    """Complete MQTT packets at the head of buf (removed from it)."""
    out = []
    while len(buf) >= 2:
        length, mult, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return out
            b = buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + length:
            return out
        out.append(bytes(buf[: i + length]))
        del buf[: i + length]
    return out


class LossyProxy:
    """Between the kiosk and Mosquitto: the kiosk's first connection loses
    every SUBSCRIBE it sends (a cable pulled right after CONNECT, before the
    SUBACK, as the emulated W5500 does); later connections carry everything."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            lossy = self.connections == 0
            self.connections += 1
            threading.Thread(target=self._up, args=(c, u, lossy), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    def _up(self, c, u, lossy):
        buf = bytearray()
        try:
            while data := c.recv(4096):
                buf += data
                for p in packets(buf):
                    if lossy and p[0] == SUBSCRIBE:
                        self.dropped += 1
                    else:
                        u.sendall(p)
        except OSError:
            pass
        for s in (c, u):
            s.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(4096):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            s.close()

    def close(self):
        self.sock.close()


def retain_on_topics(port: int, kiosk_id: str):
    """A retained message on each topic the kiosk subscribes: only a live
    subscription brings it."""
    for leaf in ("ack", "config", "cmd"):
        subprocess.run(
            [
                "mosquitto_pub",
                "-p",
                str(port),
                "-q",
                "1",
                "-r",
                "-t",
                f"noxus/v1/{kiosk_id}/{leaf}",
                "-m",
                "{}",
            ],
            check=True,
            timeout=30,
        )


RUNTIMES = ["cpython", "micropython"]


def session(runtime: str, kiosk_id: str, seed: int, *endpoints: str) -> list[str]:
    args = [str(HERE / "link_session.py"), kiosk_id, str(seed), *endpoints]
    if runtime == "micropython":
        return run_micropython(args, timeout=120).splitlines()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.check_output(
        [sys.executable, *args], env=env, cwd=REPO, text=True, timeout=120
    ).splitlines()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_subscribe_lost_before_its_suback_is_sent_again_on_the_resumed_session(runtime, private_broker):
    kiosk_id = f"SUB{runtime[0].upper()}"
    retain_on_topics(private_broker.port, kiosk_id)
    proxy = LossyProxy(private_broker.port)
    try:
        out = session(runtime, kiosk_id, 1, f"127.0.0.1:{proxy.port}")
    finally:
        proxy.close()
    assert proxy.dropped >= 3, "the first connection's SUBSCRIBEs were not lost"
    # the SUBACK never came: the link gave up on that connection and dialled again
    assert out[-1] == "DONE 2 -", out
    assert sorted(line for line in out if line.startswith("msg")) == [
        f"msg noxus/v1/{kiosk_id}/{leaf}" for leaf in ("ack", "cmd", "config")
    ]


def kiosk_starting_at(index: int, nodes: int) -> str:
    """A kiosk id whose first broker (reconnect.Reconnect picks it from the id) is nodes[index]."""
    return next(k for k in (f"DL{i}" for i in range(100)) if R.Reconnect([0] * nodes, k).index == index)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_kiosk_given_a_dead_then_a_live_broker_connects_to_the_live_one_after_a_jittered_delay(
    runtime, private_broker
):
    dead = free_port()  # nothing listens: the connect is refused
    kiosk_id = kiosk_starting_at(0, 2)
    retain_on_topics(private_broker.port, kiosk_id)
    seed = 7
    out = session(runtime, kiosk_id, seed, f"127.0.0.1:{dead}", f"127.0.0.1:{private_broker.port}")
    delays = [int(line.split()[1]) for line in out if line.startswith("delay")]
    ups = [line for line in out if line.startswith("up")]
    assert ups == [f"up 127.0.0.1:{private_broker.port} 1"], out
    assert out[-1] == "DONE 1 -", out
    # one refusal, one delay: drawn from the seeded source, within [floor, base] (attempt 0)
    assert len(delays) == 1, out
    assert R.RECONNECT_FLOOR_MS <= delays[0] <= R.RECONNECT_BASE_MS
    r = R.Reconnect([0, 0], kiosk_id, rand=Lcg(seed))
    assert delays == [r.failed()]


def test_the_kiosk_topics_are_subscribed_at_qos_1_and_the_ingest_notice_at_qos_0():
    """The notice is published QoS 0; a QoS 1 subscription to it would only cost
    a JetStream consumer per kiosk on a NATS cluster (docs/protocol.md)."""
    from firmware.core import mqtt_link
    from firmware.core import protocol as P

    link = mqtt_link.MqttLink("K1", "127.0.0.1", free_port())
    declared = {topic: qos for topic, (qos, _callback) in link.client._subscriptions.items()}
    assert declared == {**{P.topic("K1", leaf): 1 for leaf in (P.ACK, P.CONFIG, P.CMD)}, P.INGEST_UP: 0}
