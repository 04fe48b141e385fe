# Commands from the `cmd` topic: {"id": "...", "cmd": "...", "args": {...}}.
# Every command gets exactly one result on `cmd/result`:
# {"id": ..., "cmd": ..., "ok": true|false, "result": {...} | "error": "..."}.
# Fields in docs/firmware.md. Nothing here does network I/O: results are
# queued and the kiosk loop publishes them.

import os

from firmware.core.ticks import ticks_add, ticks_diff

COMMANDS = ("reboot", "enroll", "set_time", "journal_status", "factory_reset")
RESET_CODE_MS = 120000  # the factory-reset confirmation code is valid 2 min
REBOOT_DELAY_MS = 1000  # let the result leave before the reboot


def _code():
    return "".join("%02X" % b for b in os.urandom(3))


def ok(cid, cmd, result=None):
    return {"id": cid, "cmd": cmd, "ok": True, "result": result or {}}


def fail(cid, cmd, error):
    return {"id": cid, "cmd": cmd, "ok": False, "error": error}


class Commands:
    def __init__(self, kiosk):
        self.k = kiosk
        self._reset_code = None
        self._reset_until = 0

    def handle(self, d, now_ms):
        """-> a result dict, or None when the result comes later (enroll)."""
        cid = d.get("id")
        cmd = d.get("cmd")
        args = d.get("args") or {}
        if not isinstance(args, dict):
            return fail(cid, cmd, "args must be an object")
        if cmd == "reboot":
            self.k.reboot_at = ticks_add(now_ms, REBOOT_DELAY_MS)
            return ok(cid, cmd)
        if cmd == "enroll":
            return self.k.arm_enrollment(cid, now_ms)
        if cmd == "set_time":
            utc_ms = args.get("utc_ms")
            if not isinstance(utc_ms, int) or isinstance(utc_ms, bool) or utc_ms < 1704067200000:
                return fail(cid, cmd, "args.utc_ms must be UTC epoch milliseconds after 2024")
            skew = self.k.clock.set_time(utc_ms)
            return ok(cid, cmd, {"skew_ms": skew})
        if cmd == "journal_status":
            return ok(cid, cmd, self.k.journal_status())
        if cmd == "factory_reset":
            return self._factory_reset(cid, args, now_ms)
        return fail(cid, cmd, "unknown command %r: use one of %s" % (cmd, ", ".join(COMMANDS)))

    def _factory_reset(self, cid, args, now_ms):
        code = args.get("code")
        valid = (self._reset_code is not None and code == self._reset_code
                 and ticks_diff(self._reset_until, now_ms) > 0)
        if not valid:
            self._reset_code = _code()
            self._reset_until = ticks_add(now_ms, RESET_CODE_MS)
            return {"id": cid, "cmd": "factory_reset", "ok": False, "code": self._reset_code,
                    "error": "confirm: send factory_reset again with args.code %r within %d s"
                             % (self._reset_code, RESET_CODE_MS // 1000)}
        self._reset_code = None
        pending = self.k.journal.pending()
        if pending and not args.get("discard_unacked"):
            return fail(cid, "factory_reset",
                        "%d punches are not acked yet: wait for them to drain, or add "
                        "args.discard_unacked true to lose them" % pending)
        self.k.factory_reset()
        self.k.reboot_at = ticks_add(now_ms, REBOOT_DELAY_MS)
        return ok(cid, "factory_reset", {"discarded": pending})
