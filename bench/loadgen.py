"""A fleet of load kiosks in one asyncio process: up to 10 000 MQTT 3.1.1
connections (aiomqtt), each kiosk with its own in-memory journal, seqs,
batches and acks run by the firmware's own code — firmware/core/pipeline.py
(batches, `from`, the window of batches in flight, go-back-N on timeout)
and firmware/core/reconnect.py (the broker list, jittered exponential
backoff, seeded here so a run is repeatable).

Driven over stdin/stdout by a bench or a test, one command per line:

    tap N        journal N more punches on every kiosk     -> "tapped"
    up           wait until every kiosk is connected       -> "up <monotonic s>"
    down         wait until no kiosk is connected          -> "down <monotonic s>"
    acked        wait until every kiosk holds its final ack -> "acked <monotonic s>"
    stats        -> "stats {json}"
    quit

    python -m bench.loadgen --ports 1883[,1884,...] --kiosks 10000 --prefix LG --window 4
"""

import argparse
import asyncio
import json
import random
import resource
import sys
import time

import aiomqtt

from firmware.core import protocol
from firmware.core.pipeline import PipelinedSender as Sender
from firmware.core.reconnect import Reconnect
from firmware.core.ticks import ticks_ms

POLL_S = 0.25  # sender timer tick per kiosk when nothing happens (acks wake it at once)
T0 = 1_767_225_600_000


def raise_nofile(need: int) -> int:
    """RLIMIT_NOFILE up to the hard limit: one descriptor per connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class MemJournal:
    """The Journal interface Sender uses, in RAM (a kiosk's flash journal)."""

    def __init__(self, n: int):
        self.n = n
        self.punches: list[protocol.Punch] = []
        self.acked = 0
        self.epoch = 0

    @property
    def last_seq(self):
        return len(self.punches)

    def tap(self):
        seq = len(self.punches) + 1
        self.punches.append(
            protocol.Punch(seq, f"04{self.n % 256:02X}{seq >> 8 & 255:02X}{seq & 255:02X}", T0 + seq * 1000)
        )

    def unacked(self, limit):
        return self.punches[self.acked : self.acked + limit]

    def ack(self, upto):
        if upto <= self.acked:
            return False
        self.acked = min(upto, self.last_seq)
        return True


class LoadKiosk:
    def __init__(self, fleet: "Fleet", n: int, kiosk_id: str, brokers, window: int, seed: int):
        self.fleet = fleet
        self.id = kiosk_id
        self.journal = MemJournal(n)
        self.outbox: list[bytes] = []
        self.sender = Sender(
            self.journal,
            kiosk_id,
            lambda _t, p: self.outbox.append(p),
            ack_timeout_ms=fleet.ack_timeout_ms,
            backoff_max_ms=fleet.ack_timeout_ms * 4,
            window=window,
        )
        self.reconnect = Reconnect(
            brokers,
            kiosk_id,
            rand=random.Random(seed).random,
            base_ms=fleet.backoff_base_ms,
            max_ms=fleet.backoff_max_ms,
        )
        self.up = False
        self.wake = asyncio.Event()
        self.connects = 0
        self.best_ack = 0

    def done(self) -> bool:
        return self.journal.acked == self.journal.last_seq

    async def run(self):
        topic_ack = protocol.topic(self.id, protocol.ACK)
        topic_punch = protocol.topic(self.id, protocol.PUNCH)
        will = aiomqtt.Will(
            protocol.topic(self.id, protocol.STATE), protocol.encode_state(self.id, False), qos=1, retain=True
        )
        while not self.fleet.stopping:
            host, port = self.reconnect.current()
            try:
                async with aiomqtt.Client(
                    host,
                    port,
                    identifier=self.id,
                    clean_session=True,
                    keepalive=60,
                    will=will,
                    timeout=30,
                    max_inflight_messages=100,
                ) as client:
                    await client.subscribe(topic_ack, qos=1)
                    await client.publish(
                        protocol.topic(self.id, protocol.STATE),
                        protocol.encode_state(self.id, True, boot=1, fw="loadgen"),
                        qos=1,
                        retain=True,
                    )
                    self.reconnect.connected()
                    self.connects += 1
                    self.sender.link_up()
                    self.up = True
                    self.fleet.changed()
                    reader = asyncio.create_task(self._read(client))
                    try:
                        while not self.fleet.stopping:
                            self.sender.poll(ticks_ms(), True)
                            while self.outbox:
                                payload = self.outbox.pop(0)
                                # QoS 1, not awaited here: the window bounds what is in flight
                                asyncio.ensure_future(client.publish(topic_punch, payload, qos=1))
                            if reader.done():
                                reader.result()  # raises the connection's error
                            self.wake.clear()
                            try:
                                await asyncio.wait_for(self.wake.wait(), POLL_S)
                            except TimeoutError:
                                pass
                    finally:
                        reader.cancel()
            except aiomqtt.MqttError:
                pass
            except (OSError, TimeoutError):
                pass
            if self.up:
                self.up = False
                self.fleet.changed()
            if self.fleet.stopping:
                return
            await asyncio.sleep(self.reconnect.failed() / 1000)

    async def _read(self, client):
        async for msg in client.messages:
            upto, err = protocol.decode_ack(msg.payload, self.id)
            if err is None:
                self.best_ack = max(self.best_ack, upto)
            self.sender.on_ack(msg.payload)
            self.wake.set()
            if self.done():
                self.fleet.changed()


class Fleet:
    def __init__(self, args):
        self.stopping = False
        self.ack_timeout_ms = args.ack_timeout_ms
        self.backoff_base_ms = args.backoff_base_ms
        self.backoff_max_ms = args.backoff_max_ms
        brokers = [("127.0.0.1", int(p)) for p in args.ports.split(",")]
        self.kiosks = [
            LoadKiosk(self, n, f"{args.prefix}{n:05d}", brokers, args.window, args.seed * 100_003 + n)
            for n in range(args.kiosks)
        ]
        self._changed = asyncio.Event()

    def changed(self):
        self._changed.set()

    async def until(self, cond):
        while not cond():
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.2)
            except TimeoutError:
                pass
        return time.monotonic()

    def stats(self) -> dict:
        ks = self.kiosks
        return {
            "kiosks": len(ks),
            "up": sum(k.up for k in ks),
            "done": sum(k.done() for k in ks),
            "punches": sum(k.journal.last_seq for k in ks),
            "acked": sum(k.journal.acked for k in ks),
            "sent": sum(k.sender.sent for k in ks),
            "resent": sum(k.sender.resent for k in ks),
            "connects": sum(k.connects for k in ks),
        }


async def main_async(args) -> None:
    fleet = Fleet(args)
    tasks = []
    # Power-on over a few seconds, as a fleet does (and as the listen backlog wants).
    for i, k in enumerate(fleet.kiosks):
        tasks.append(asyncio.create_task(k.run()))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "quit":
            break
        cmd, _, arg = line.partition(" ")
        if cmd == "tap":
            for k in fleet.kiosks:
                for _ in range(int(arg)):
                    k.journal.tap()
                k.wake.set()
            say("tapped")
        elif cmd == "up":
            say(f"up {await fleet.until(lambda: all(k.up for k in fleet.kiosks))}")
        elif cmd == "down":
            say(f"down {await fleet.until(lambda: not any(k.up for k in fleet.kiosks))}")
        elif cmd == "acked":
            say(f"acked {await fleet.until(lambda: all(k.done() for k in fleet.kiosks))}")
        elif cmd == "stats":
            say("stats " + json.dumps(fleet.stats()))
        else:
            say(f"error unknown command {cmd!r}")
    fleet.stopping = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--ports", required=True, help="MQTT ports on 127.0.0.1, comma-separated (the broker list)"
    )
    p.add_argument("--kiosks", type=int, default=1000)
    p.add_argument("--prefix", default="LG")
    p.add_argument("--window", type=int, default=None, help="batches in flight (default: firmware's WINDOW)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ack-timeout-ms", type=int, default=None, help="default: the firmware's ACK_TIMEOUT_MS")
    p.add_argument("--backoff-base-ms", type=int, default=None)
    p.add_argument("--backoff-max-ms", type=int, default=None)
    args = p.parse_args()
    from firmware.core import reconnect, sender

    args.ack_timeout_ms = args.ack_timeout_ms or sender.ACK_TIMEOUT_MS
    args.backoff_base_ms = args.backoff_base_ms or reconnect.RECONNECT_BASE_MS
    args.backoff_max_ms = args.backoff_max_ms or reconnect.RECONNECT_MAX_MS
    limit = raise_nofile(args.kiosks + 100)
    if limit < args.kiosks + 50:
        raise SystemExit(f"RLIMIT_NOFILE is {limit}: too low for {args.kiosks} connections")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
