"""Rate limits of the public claim endpoints (POST /api/v1/enrollment/claims and
/claims/redeem): per source address and per board id, sliding one-minute windows.

In the API process's memory: the shipped unit runs two uvicorn processes
(deploy/systemd/noxus-api.service), each limiting on its own,
so the effective limit is multiplied by their number (docs/security.md)."""

import threading
import time
from collections import deque

WINDOW_S = 60.0


class SlidingWindow:
    """At most `limit` hits per key within `window_s`; `clock` is replaceable in tests."""

    def __init__(self, limit: int, window_s: float = WINDOW_S, clock=time.monotonic, max_keys: int = 100_000):
        self.limit, self.window_s, self.clock, self.max_keys = limit, window_s, clock, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one hit; None when allowed, else the seconds until the next is."""
        now = self.clock()
        with self._lock:
            q = self._hits.get(key)
            if q is None:
                if len(self._hits) >= self.max_keys:  # a flood of distinct keys: forget the oldest
                    self._hits.pop(next(iter(self._hits)))
                q = self._hits[key] = deque()
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.0, q[0] + self.window_s - now)
            q.append(now)
            return None


class ClaimLimits:
    def __init__(self, per_source: int, per_board: int, clock=time.monotonic):
        self.source = SlidingWindow(per_source, clock=clock)
        self.board = SlidingWindow(per_board, clock=clock)

    def check(self, source: str, board_uid: str) -> float | None:
        """None, or how many seconds the caller must wait (HTTP 429, Retry-After)."""
        wait = self.source.hit("ip:" + source)
        if wait is None:
            wait = self.board.hit("board:" + board_uid)
        return wait


_limits: ClaimLimits | None = None


def limits(per_source: int, per_board: int) -> ClaimLimits:
    """The API process's limiter (created on first use with the settings' figures)."""
    global _limits
    if _limits is None or (_limits.source.limit, _limits.board.limit) != (per_source, per_board):
        _limits = ClaimLimits(per_source, per_board)
    return _limits
