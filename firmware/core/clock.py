# Wall clock of the kiosk. Until the clock is set (NTP on a Pico, the OS on a Pi
# or the simulator), punches are stamped with (boot id, ms since boot) and
# flagged "estimated"; the backend places them once the kiosk reports a
# (boot, uptime, UTC) triple in its telemetry (docs/protocol.md, telemetry).
#
# The kiosk keeps UTC only. Local time is for the display alone: the backend
# pushes the site's current UTC offset and the next change (DST) in config, so
# no time zone table lives on a kiosk.
#
# Jumps: the wall clock should advance like the monotonic uptime. When
# (wall - uptime) moves by more than JUMP_MS between two observations, the
# clock was stepped (NTP correction, RTC reset, set_time command): counted and
# reported in telemetry, never hidden.

import time

from firmware.core.ticks import ticks_diff, ticks_ms

EARLIEST_VALID_S = 1704067200  # 2024-01-01: anything earlier is an unset RTC
LATEST_VALID_S = 0xFFFFFFFF  # 2106: the journal stores u32 seconds; later is a broken RTC
JUMP_MS = 2000  # crystal drift is ~ppm; two seconds between loops is a step


class Clock:
    def __init__(self, source=time.time, setter=None):
        self._source = source  # -> UTC epoch seconds (float or int)
        self._setter = setter  # setter(utc_ms): set the RTC (Pico), None on a Pi
        self._last_ticks = ticks_ms()
        self._uptime = 0
        self._offset = None  # wall ms - uptime ms at the last observation
        self.jumps = 0
        self.last_jump_ms = 0  # signed size of the last step
        self.skew_ms = None  # NTP/backend time minus our clock at the last set
        self.synced_at = None  # uptime ms of the last set_time
        self.utc_offset_min = 0  # display only
        self._next_offset = None  # (epoch s, offset min): the next DST change

    def uptime_ms(self):
        # Accumulated, because ticks_ms wraps every ~12 days on MicroPython and
        # a kiosk runs for months; called at least once a loop.
        now = ticks_ms()
        self._uptime += ticks_diff(now, self._last_ticks)
        self._last_ticks = now
        return self._uptime

    def now_ms(self):
        """UTC epoch ms, or None while the clock has never been set."""
        t = self._source()
        if t < EARLIEST_VALID_S or t >= LATEST_VALID_S:
            return None
        return int(t * 1000)

    def is_set(self):
        return self.now_ms() is not None

    def observe(self):
        """Call once a loop. -> the signed size of a clock step seen since the
        last call (ms), or 0. The first set of an unset clock is not a jump."""
        wall = self.now_ms()
        up = self.uptime_ms()
        if wall is None:
            self._offset = None
            return 0
        off = wall - up
        prev, self._offset = self._offset, off
        if prev is None:
            return 0
        step = off - prev
        if step > JUMP_MS or step < -JUMP_MS:
            self.jumps += 1
            self.last_jump_ms = step
            return step
        return 0

    def set_time(self, utc_ms):
        """A trusted time arrived (NTP, set_time command): record the skew and
        set the RTC when the port can. The step is expected, not a jump."""
        before = self.now_ms()
        self.skew_ms = None if before is None else utc_ms - before
        if self._setter is not None:
            self._setter(utc_ms)
        self.synced_at = self.uptime_ms()
        now = self.now_ms()
        self._offset = None if now is None else now - self.uptime_ms()
        return self.skew_ms

    # -- display time ------------------------------------------------------
    def set_zone(self, offset_min, next_change=None):
        """offset_min: the site's UTC offset now; next_change: (epoch s, offset
        min) of the next DST change, so an offline kiosk still switches."""
        self.utc_offset_min = offset_min
        self._next_offset = next_change

    def local_hm(self):
        """(hour, minute) for the display, or None while the clock is unset."""
        ms = self.now_ms()
        if ms is None:
            return None
        s = ms // 1000
        off = self.utc_offset_min
        nxt = self._next_offset
        if nxt is not None and s >= nxt[0]:
            off = nxt[1]
        s += off * 60
        return (s // 3600) % 24, (s // 60) % 60
