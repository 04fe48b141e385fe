# A small crash log on flash: the last uncaught exception, written by the
# port's top-level handler before it reboots, reported in the next birth and
# telemetry, then cleared. Bounded so a crash loop cannot fill the flash.

import sys

from firmware.core import fsutil

MAX_BYTES = 1024


def format_exc(e):
    pe = getattr(sys, "print_exception", None)
    if pe is not None:  # MicroPython
        import io
        buf = io.StringIO()
        pe(e, buf)
        return buf.getvalue()
    import traceback  # CPython (the Pi port)
    return "".join(traceback.format_exception(type(e), e, e.__traceback__))


def record(path, e, uptime_ms=0):
    text = "uptime_ms=%d\n%s" % (uptime_ms, format_exc(e))
    data = text.encode()
    if len(data) > MAX_BYTES:
        data = data[-MAX_BYTES:]  # the innermost frames and the message
    try:
        fsutil.write_atomic(path, data)
    except OSError:
        pass  # flash full or failing: the reboot matters more than the log


def note(path, line, uptime_ms=0):
    """Append one line (a refused TLS handshake, a missing driver) without a
    reboot: reported with the next birth/telemetry like a crash, bounded."""
    old = fsutil.read(path) or b""
    data = old + f"uptime_ms={uptime_ms} {line}\n".encode()
    if len(data) > MAX_BYTES:
        data = data[-MAX_BYTES:]
    try:
        fsutil.write_atomic(path, data)
    except OSError:
        pass
    print(line)  # the serial console / journal of the service


def read(path):
    raw = fsutil.read(path)
    if not raw:
        return None
    try:
        return raw.decode()
    except UnicodeError:
        return repr(raw)


def clear(path):
    fsutil.remove(path)
