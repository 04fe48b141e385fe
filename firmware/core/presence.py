# Card presence state machine: one punch per card presentation.
#
# MFRC522 request() flickers (a card lying on the reader fails every other
# poll), so a card counts as removed only after ABSENT_POLLS misses in a row.
# The same UID presented again within the cooldown is "already recorded".
#
# The cooldown runs from the last poll that saw the UID, not from the punch:
# a card held for 10 s that slips off the antenna for a moment is still the
# same presentation's tail, never a second punch. Times are ticks_ms values
# compared with ticks_diff, so the 12-day wrap of ticks_ms on a Pico cannot
# turn an old punch into a recent one. Nothing here allocates per poll.

from firmware.core.ticks import ticks_diff

ABSENT_POLLS = 3  # at a 50 ms poll: 150 ms without a card = card removed
COOLDOWN_MS = 3000  # business default: a second tap within 3 s is a slip

NEW = "new"
REPEAT = "repeat"


class Presence:
    def __init__(self, cooldown_ms=COOLDOWN_MS, absent_polls=ABSENT_POLLS):
        self.cooldown_ms = cooldown_ms
        self.absent_polls = absent_polls
        self._present = None  # UID on the reader now
        self._misses = 0
        self._last_uid = None  # UID of the last punch
        self._last_seen = 0  # ticks when _last_uid was last read

    @property
    def current(self):
        """UID bytes of the card on the reader now, or None."""
        return self._present

    def poll(self, uid, now_ms):
        """Feed one reader poll (UID bytes or None) and its ticks_ms. Returns
        NEW when a fresh presentation should become a punch, REPEAT when the
        same card comes back inside the cooldown, None otherwise."""
        if uid is None:
            if self._present is not None:
                self._misses += 1
                if self._misses >= self.absent_polls:
                    self._present = None
            return None
        self._misses = 0
        if uid == self._present:
            if uid == self._last_uid:
                self._last_seen = now_ms
            return None
        self._present = uid
        if (uid == self._last_uid
                and ticks_diff(now_ms, self._last_seen) < self.cooldown_ms):
            self._last_seen = now_ms
            return REPEAT
        self._last_uid = uid
        self._last_seen = now_ms
        return NEW

    def forget(self):
        """Drop the cooldown (the punch was refused: a retry must count)."""
        self._last_uid = None
