# Wall clock of the kiosk. Until the clock is set (NTP on a Pico, the OS on a Pi
# or the simulator), punches are stamped with (boot id, ms since boot) and
# flagged "estimated"; the backend can place them once the kiosk reports a
# (boot, uptime, UTC) triple in its telemetry.

import time

from firmware.core.ticks import ticks_diff, ticks_ms

EARLIEST_VALID_S = 1704067200  # 2024-01-01: anything earlier is an unset RTC


class Clock:
    def __init__(self, source=time.time):
        self._source = source
        self._last_ticks = ticks_ms()
        self._uptime = 0

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
        if t < EARLIEST_VALID_S:
            return None
        return int(t * 1000)
