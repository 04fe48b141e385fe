"""A fleet of load kiosks: up to 10 000 MQTT 3.1.1 connections (aiomqtt),
spread over several processes (`Pool`), each kiosk with its own in-memory
journal, seqs, batches and acks run by the firmware's own code —
firmware/core/pipeline.py (batches, `from`, the window of batches in flight,
go-back-N on timeout) and firmware/core/reconnect.py (the broker list,
jittered exponential backoff, seeded here so a run is repeatable).

One process is one asyncio loop driven over stdin/stdout by `Pool` (or a
test), one command per line:

    tap N        journal N more punches on every kiosk     -> "tapped"
    up           wait until every kiosk is connected       -> "up <monotonic s>"
    down         wait until no kiosk is connected          -> "down <monotonic s>"
    acked        wait until every kiosk holds its final ack -> "acked <monotonic s>"
    raw ROOT P   the raw baseline: every kiosk opens a plain connection of its
                 own and publishes its birth message and P punches, batched as
                 the firmware does, under ROOT<kiosk>/ at QoS 1 -> "raw <monotonic s>"
    hold         kiosks that lose the broker from now on do not back off but
                 wait for `go`                          -> "held"
    go           ... and then dial all at once           -> "go <monotonic s>"
    times        -> "times {json}": per kiosk, when its last connection came
                 up, when the broker acked its first publish on it, when its
                 final app ack came (monotonic s, the same clock in every process)
    stats        -> "stats {json}"
    quit

    python -m bench.loadgen --ports 1883[,1884,...] --kiosks 10000 --prefix LG --window 4
"""

import argparse
import asyncio
import concurrent.futures
import json
import random
import resource
import select
import subprocess
import sys
import time

import aiomqtt

from firmware.core import protocol
from firmware.core.pipeline import PipelinedSender as Sender
from firmware.core.reconnect import Reconnect
from firmware.core.sender import BATCH_MAX
from firmware.core.ticks import ticks_ms
from tests.firmware_core import memjournal

TICK_S = 0.1  # one timer for the whole fleet drives every Sender's ack timeouts
T0 = 1_767_225_600_000
CONNECTING = 64  # connects in progress per process (aiomqtt dials in a thread; the listen backlog)


def raise_nofile(need: int) -> int:
    """RLIMIT_NOFILE up to the hard limit: one descriptor per connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def punch(n: int, seq: int) -> protocol.Punch:
    """Kiosk n's punch number `seq` (the same in the storm and in the raw baseline)."""
    return protocol.Punch(seq, f"04{n % 256:02X}{seq >> 8 & 255:02X}{seq & 255:02X}", T0 + seq * 1000)


class MemJournal(memjournal.MemJournal):
    """The Journal interface Sender uses, in RAM (a kiosk's flash journal)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def tap(self):
        self.punches.append(punch(self.n, len(self.punches) + 1))


def _client(host: str, port: int, identifier: str, will=None, clean: bool = True) -> aiomqtt.Client:
    return aiomqtt.Client(
        host,
        port,
        identifier=identifier,
        clean_session=clean,
        keepalive=60,
        will=will,
        timeout=30,
        max_inflight_messages=100,
    )


class LoadKiosk:
    def __init__(self, fleet: "Fleet", n: int, kiosk_id: str, brokers, window: int, seed: int):
        self.fleet = fleet
        self.n = n
        self.id = kiosk_id
        self.journal = MemJournal(n)
        self.outbox: list[bytes] = []
        self.sender = Sender(
            self.journal,
            kiosk_id,
            lambda _t, p: self.outbox.append(p),
            ack_timeout_ms=fleet.ack_timeout_ms,
            backoff_max_ms=fleet.ack_backoff_max_ms,
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
        self.t_up = 0.0  # when the last connection came up
        self.t_puback = 0.0  # when the broker acked the first punch batch on it
        self.t_acked = 0.0  # when the final app ack came

    def done(self) -> bool:
        return self.journal.acked == self.journal.last_seq

    async def _publish(self, client, topic: str, payload: bytes) -> None:
        try:
            await client.publish(topic, payload, qos=1)
        except aiomqtt.MqttError:
            return  # the connection is gone: the Sender resends on the next one
        if not self.t_puback:
            self.t_puback = time.monotonic()

    async def run(self):
        topics = [protocol.topic(self.id, leaf) for leaf in (protocol.ACK, protocol.CONFIG, protocol.CMD)]
        topics.append(protocol.INGEST_UP)
        topic_punch = protocol.topic(self.id, protocol.PUNCH)
        will = aiomqtt.Will(
            protocol.topic(self.id, protocol.STATE), protocol.encode_state(self.id, False), qos=1, retain=True
        )
        while not self.fleet.stopping:
            host, port = self.reconnect.current()
            try:
                async with self.fleet.connecting:
                    # As firmware/core/mqtt_link.py: client id "kiosk-<id>", a
                    # persistent session (acks queued while offline), the will.
                    client = _client(host, port, "kiosk-" + self.id, will, clean=False)
                    await client.__aenter__()
                try:
                    await client.subscribe([(t, 0 if t == protocol.INGEST_UP else 1) for t in topics])
                    await client.publish(
                        protocol.topic(self.id, protocol.STATE),
                        protocol.encode_state(self.id, True, boot=1, fw="loadgen"),
                        qos=1,
                        retain=True,
                    )
                    self.reconnect.connected()
                    self.connects += 1
                    self.sender.link_up()
                    self.t_up, self.t_puback = time.monotonic(), 0.0
                    self.up = True
                    self.fleet.changed()
                    reader = asyncio.create_task(self._read(client))
                    try:
                        while not self.fleet.stopping:
                            # Up to a window of batches at once; acks and the
                            # fleet's timer (ack timeouts) wake the kiosk.
                            for _ in range(self.sender.window):
                                self.sender.poll(ticks_ms(), True)
                                if not self.outbox:
                                    break
                                while self.outbox:
                                    asyncio.ensure_future(
                                        self._publish(client, topic_punch, self.outbox.pop(0))
                                    )
                            if reader.done():
                                reader.result()  # raises the connection's error
                            self.wake.clear()
                            await self.wake.wait()
                    finally:
                        reader.cancel()
                finally:
                    await client.__aexit__(None, None, None)
            except (aiomqtt.MqttError, OSError, TimeoutError):
                pass
            if self.up:
                self.up = False
                self.fleet.changed()
            if self.fleet.stopping:
                return
            delay = self.reconnect.failed() / 1000
            if self.fleet.release.is_set():
                await asyncio.sleep(delay)
            else:  # held: dial the moment the fleet is released, all at once
                await self.fleet.release.wait()

    async def _read(self, client):
        try:
            async for msg in client.messages:
                if msg.topic.value == protocol.INGEST_UP:  # as firmware/core/kiosk.py: send again now
                    self.sender.link_up()
                    self.wake.set()
                    continue
                if not msg.topic.value.endswith("/" + protocol.ACK):
                    continue  # config and commands: not modelled
                self.sender.on_ack(msg.payload)
                if self.done():
                    self.t_acked = time.monotonic()
                    self.fleet.changed()
                self.wake.set()
        finally:
            self.wake.set()  # the run loop sees the reader's end at once

    async def raw(self, root: str, punches: int) -> None:
        """The baseline: a plain connection of its own, the same messages —
        the birth (state) message a kiosk sends on connect, then its punches
        (seq 2 .. punches + 1, after the warm-up's seq 1) in the firmware's
        batches — at QoS 1, each awaited; no journal, no app ack."""
        ps = [punch(self.n, s) for s in range(2, punches + 2)]
        host, port = self.reconnect.current()
        async with self.fleet.connecting:
            client = _client(host, port, self.id + "-raw")
            await client.__aenter__()
        try:
            await asyncio.gather(
                client.publish(f"{root}{self.id}/state", protocol.encode_state(self.id, True, boot=1), qos=1),
                *(
                    client.publish(
                        f"{root}{self.id}/punch",
                        protocol.encode_punch_batch(self.id, ps[i : i + BATCH_MAX]),
                        qos=1,
                    )
                    for i in range(0, len(ps), BATCH_MAX)
                ),
            )
        finally:
            await client.__aexit__(None, None, None)


class Fleet:
    def __init__(self, args):
        self.stopping = False
        self.ack_timeout_ms = args.ack_timeout_ms
        self.ack_backoff_max_ms = args.ack_backoff_max_ms
        self.backoff_base_ms = args.backoff_base_ms
        self.backoff_max_ms = args.backoff_max_ms
        self.connecting = asyncio.Semaphore(args.connecting)
        brokers = [("127.0.0.1", int(p)) for p in args.ports.split(",")]
        self.kiosks = [
            LoadKiosk(self, n, f"{args.prefix}{n:05d}", brokers, args.window, args.seed * 100_003 + n)
            for n in range(args.first, args.first + args.kiosks)
        ]
        self._changed = asyncio.Event()
        self.release = asyncio.Event()  # cleared by `hold`: kiosks that lose the broker wait for `go`
        self.release.set()

    def changed(self):
        self._changed.set()

    async def tick(self):
        """One timer for all kiosks: a kiosk whose oldest batch is overdue resends."""
        while not self.stopping:
            await asyncio.sleep(TICK_S)
            now = ticks_ms()
            for k in self.kiosks:
                if k.up and not k.sender.idle():
                    k.sender.poll(now, True)
                    if k.outbox:
                        k.wake.set()

    async def until(self, cond):
        while not cond():
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.2)
            except TimeoutError:
                pass
        return time.monotonic()

    def times(self) -> list[tuple[float, float, float]]:
        return [(k.t_up, k.t_puback, k.t_acked) for k in self.kiosks]

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
    loop = asyncio.get_running_loop()
    # aiomqtt runs paho's blocking connect() in the default executor: give it
    # as many threads as connects may be in progress.
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(args.connecting))
    fleet = Fleet(args)
    tasks = [asyncio.create_task(fleet.tick())]
    # Power-on over a few seconds, as a fleet does (and as the listen backlog wants).
    for i, k in enumerate(fleet.kiosks):
        tasks.append(asyncio.create_task(k.run()))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
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
        elif cmd == "raw":
            root, punches = arg.split()
            await asyncio.gather(*(k.raw(root, int(punches)) for k in fleet.kiosks))
            say(f"raw {time.monotonic()}")
        elif cmd == "hold":
            fleet.release.clear()
            say("held")
        elif cmd == "go":
            fleet.release.set()
            say(f"go {time.monotonic()}")
        elif cmd == "times":
            say("times " + json.dumps(fleet.times()))
        elif cmd == "stats":
            say("stats " + json.dumps(fleet.stats()))
        else:
            say(f"error unknown command {cmd!r}")
    fleet.stopping = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Pool:
    """`procs` load-generator processes sharing `kiosks` kiosks (ids
    <prefix>00000 ...), driven as one: a command goes to every process, the
    answer is the latest time (`at`), the concatenation (`times`) or the sum
    (`stats`) of theirs."""

    def __init__(self, ports, kiosks: int, prefix: str, window=None, procs: int = 0, log=None, extra=()):
        procs = max(1, min(procs or default_procs(kiosks), kiosks))
        share, rest = divmod(kiosks, procs)
        self.procs = []
        first = 0
        for i in range(procs):
            n = share + (i < rest)
            cmd = [sys.executable, "-m", "bench.loadgen", "--ports", ",".join(map(str, ports))]
            cmd += ["--kiosks", str(n), "--first", str(first), "--prefix", prefix, *extra]
            if window:
                cmd += ["--window", str(window)]
            self.procs.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
            )
            first += n

    def ask(self, line: str, timeout: float = 300) -> list[str]:
        for p in self.procs:
            p.stdin.write(line + "\n")
            p.stdin.flush()
        deadline = time.monotonic() + timeout
        out = []
        for p in self.procs:
            if not select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError(f"{line!r}: no answer in {timeout:.0f} s")
            answer = p.stdout.readline().strip()
            if not answer:
                raise RuntimeError(f"load generator died on {line!r}")
            out.append(answer.split(" ", 1)[1] if " " in answer else answer)
        return out

    def at(self, line: str, timeout: float = 300) -> float:
        return max(float(a) for a in self.ask(line, timeout))

    def times(self) -> list[tuple[float, float, float]]:
        return [tuple(t) for a in self.ask("times") for t in json.loads(a)]

    def stats(self) -> dict:
        total: dict = {}
        for a in self.ask("stats"):
            for key, value in json.loads(a).items():
                total[key] = total.get(key, 0) + value
        return total

    def stop(self):
        for p in self.procs:
            try:
                p.stdin.write("quit\n")
                p.stdin.flush()
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def default_procs(kiosks: int) -> int:
    """A process per 500 kiosks, at most 4: one asyncio loop handles ~2 500
    connections well, and more processes than CPUs only queue for them."""
    return min(4, max(1, -(-kiosks // 500)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--ports", required=True, help="MQTT ports on 127.0.0.1, comma-separated (the broker list)"
    )
    p.add_argument("--kiosks", type=int, default=1000)
    p.add_argument("--first", type=int, default=0, help="number of this process's first kiosk")
    p.add_argument("--prefix", default="LG")
    p.add_argument("--window", type=int, default=None, help="batches in flight (default: firmware's WINDOW)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--connecting", type=int, default=CONNECTING, help="connects in progress at once")
    p.add_argument("--ack-timeout-ms", type=int, default=None, help="default: the firmware's ACK_TIMEOUT_MS")
    p.add_argument(
        "--ack-backoff-max-ms", type=int, default=None, help="default: the firmware's BACKOFF_MAX_MS"
    )
    p.add_argument("--backoff-base-ms", type=int, default=None)
    p.add_argument("--backoff-max-ms", type=int, default=None)
    args = p.parse_args()
    from firmware.core import reconnect, sender

    args.ack_timeout_ms = args.ack_timeout_ms or sender.ACK_TIMEOUT_MS
    args.ack_backoff_max_ms = args.ack_backoff_max_ms or sender.BACKOFF_MAX_MS
    args.backoff_base_ms = args.backoff_base_ms or reconnect.RECONNECT_BASE_MS
    args.backoff_max_ms = args.backoff_max_ms or reconnect.RECONNECT_MAX_MS
    limit = raise_nofile(2 * args.kiosks + 100)  # the raw baseline's connections too
    if limit < args.kiosks + 50:
        raise SystemExit(f"RLIMIT_NOFILE is {limit}: too low for {args.kiosks} connections")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
