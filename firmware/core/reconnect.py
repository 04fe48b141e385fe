# Which broker the kiosk dials next, and when (docs/firmware.md, "Brokers and
# reconnection"). A kiosk knows a list of brokers — the nodes of a cluster, or
# one Mosquitto — and after a failed connect or a lost connection it moves to
# the next one and waits a jittered, exponentially growing delay, so that
# 10 000 kiosks cut off at the same moment do not all come back in the same
# second, nor all on the same node.
#
# Delay before attempt n (n = 0 after a connection is lost or on the first
# failure): d = min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2**n), drawn
# uniformly in [RECONNECT_FLOOR_MS, d] ("full jitter"). A successful CONNACK
# resets n. The random source is injectable (tests: seeded, deterministic).
#
# Portable: MicroPython and CPython, no allocation per attempt beyond ints.

RECONNECT_BASE_MS = 1000  # first retry within 1 s: a node restart is over in seconds
RECONNECT_MAX_MS = 60000  # cap: a fleet waiting for a long outage retries about once a minute
RECONNECT_FLOOR_MS = 100  # never retry at once: a refused connect would spin
_SHIFT_MAX = 16  # 2**16 s exceeds the cap: no big ints on the board


class Reconnect:
    def __init__(self, brokers, kiosk_id="", rand=None, base_ms=RECONNECT_BASE_MS,
                 max_ms=RECONNECT_MAX_MS, floor_ms=RECONNECT_FLOOR_MS):
        if not brokers:
            raise ValueError("no broker configured")
        self.brokers = list(brokers)
        # Start at a node picked from the kiosk id: a fleet spreads over the
        # cluster from its first connect, and each kiosk keeps its habit.
        h = 0
        for c in kiosk_id:
            h = (h * 31 + ord(c)) & 0xFFFF
        self.index = h % len(self.brokers)
        self.attempts = 0
        self.rand = rand  # None: the board's random source
        self.base_ms = base_ms
        self.max_ms = max_ms
        self.floor_ms = min(floor_ms, base_ms)

    def current(self):
        return self.brokers[self.index]

    def connected(self):
        """A CONNACK: the next loss starts the backoff over."""
        self.attempts = 0

    def failed(self):
        """A connect failed or an established connection was lost: move to the
        next broker and return how long to wait (ms) before dialling it."""
        self.index = (self.index + 1) % len(self.brokers)
        n = min(self.attempts, _SHIFT_MAX)
        self.attempts += 1
        cap = min(self.base_ms << n, self.max_ms)
        if self.rand is None:
            from random import getrandbits  # MicroPython always has it, random() not always

            return self.floor_ms + (cap - self.floor_ms) * getrandbits(16) // 65536
        return self.floor_ms + int((cap - self.floor_ms) * self.rand())
