# Card presence state machine: one punch per card presentation.
#
# MFRC522 request() flickers (a card lying on the reader fails every other
# poll), so a card counts as removed only after ABSENT_POLLS misses in a row.
# The same UID presented again within the cooldown is "already recorded".

ABSENT_POLLS = 3  # at a 50 ms poll: 150 ms without a card = card removed

NEW = "new"
REPEAT = "repeat"


class Presence:
    def __init__(self, cooldown_ms=3000, absent_polls=ABSENT_POLLS):
        self.cooldown_ms = cooldown_ms
        self.absent_polls = absent_polls
        self._present = None  # UID on the reader now
        self._misses = 0
        self._last_uid = None
        self._last_at = None

    def poll(self, uid, now_ms):
        """Feed one reader poll (UID bytes or None). Returns NEW when a fresh
        presentation should become a punch, REPEAT when it is inside the
        cooldown, None otherwise."""
        if uid is None:
            if self._present is not None:
                self._misses += 1
                if self._misses >= self.absent_polls:
                    self._present = None
            return None
        self._misses = 0
        if uid == self._present:
            return None
        self._present = uid
        if (uid == self._last_uid and self._last_at is not None
                and now_ms - self._last_at < self.cooldown_ms):
            return REPEAT
        self._last_uid = uid
        self._last_at = now_ms
        return NEW
