"""A reconnect storm, shared by tests/fleet/test_reconnect_storm.py and
bench/reconnect_storm.py: load kiosks (tests/fleet/loadkiosk.py) journal
punches while the broker is down; the broker comes back and they all
reconnect and resend at once."""

import random
import threading
import time
from dataclasses import dataclass

from tests.fleet.loadkiosk import LoadKiosk


@dataclass
class StormTimes:
    reconnect_s: float  # broker restarted → every kiosk connected again
    drain_s: float  # broker restarted → every kiosk holds its final ack


class Fleet:
    """`n` load kiosks in this process, one poller thread running their Senders."""

    def __init__(self, prefix: str, n: int, port: int):
        self.acks: list[tuple[float, str, int]] = []  # (monotonic, kiosk, upto)
        self.kiosks = [
            LoadKiosk(f"{prefix}{i:04d}", port, self.acks, ack_timeout_ms=2000, backoff_max_ms=4000)
            for i in range(n)
        ]
        for k in self.kiosks:
            # paho retries 1 s, 2 s, 4 s... up to 120 s by default; a short cap keeps
            # all kiosks in the same retry wave after the restart, i.e. a real storm.
            # No jitter needed at this scale (Mosquitto accepts the lot at once).
            k.client.reconnect_delay_set(1, 2)
        self.stop_flag = threading.Event()
        self.poller = threading.Thread(target=self._poll, daemon=True)

    @property
    def ids(self) -> list[str]:
        return [k.id for k in self.kiosks]

    def _poll(self):
        while not self.stop_flag.is_set():
            for k in self.kiosks:
                k.poll()
            time.sleep(0.01)

    def start(self, timeout=30) -> "Fleet":
        # Spread the first connects a little, as kiosks powered on over a morning.
        for k in self.kiosks:
            k.start()
            time.sleep(random.uniform(0, 0.002))
        self.wait(lambda: all(k.up.is_set() for k in self.kiosks), timeout, "first connect")
        self.poller.start()
        return self

    def tap_all(self, per_kiosk: int):
        for n, k in enumerate(self.kiosks):
            for _ in range(per_kiosk):
                k.tap(f"04{n % 256:02X}{k.journal.last_seq % 256:02X}A1")

    def drained(self) -> bool:
        return all(k.drained() for k in self.kiosks)

    def final_acks(self) -> dict[str, int]:
        """The highest app ack each kiosk received."""
        best: dict[str, int] = {}
        for _, kiosk, upto in list(self.acks):
            best[kiosk] = max(best.get(kiosk, 0), upto)
        return best

    def all_acked(self) -> bool:
        best = self.final_acks()
        return self.drained() and all(best.get(k.id, 0) == k.journal.last_seq for k in self.kiosks)

    def wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                late = [
                    (k.id, k.up.is_set(), k.journal.acked, k.journal.last_seq)
                    for k in self.kiosks
                    if not k.drained() or not k.up.is_set()
                ]
                raise TimeoutError(
                    f"{what}: not done after {timeout}s; {len(late)} kiosks behind: {late[:10]}"
                )
            time.sleep(0.02)

    def storm(self, broker, backlog: int, timeout=120) -> StormTimes:
        """Broker down, `backlog` punches journaled per kiosk, broker up: time
        until every kiosk is connected again and until each is fully acked."""
        broker.stop()
        self.wait(lambda: not any(k.up.is_set() for k in self.kiosks), 30, "disconnect")
        self.tap_all(backlog)
        t0 = time.monotonic()
        broker.start()
        self.wait(lambda: all(k.up.is_set() for k in self.kiosks), timeout, "reconnect")
        t1 = time.monotonic()
        self.wait(self.all_acked, timeout, "drain")
        t2 = time.monotonic()
        return StormTimes(t1 - t0, t2 - t0)

    def stop(self):
        self.stop_flag.set()
        for k in self.kiosks:
            k.stop()
