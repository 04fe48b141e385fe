"""Reading a badge UID for `badge enroll`: the next tap on a kiosk in enrollment
mode, or a desk reader that types the UID like a keyboard (USB HID wedge)."""

import re
import time

from noxus_provision.errors import ProvisionError

POLL_S = 20.0
_HEX = re.compile(r"^[0-9A-F]+$")
UID_HEX_LENGTHS = (8, 14, 20)  # 4, 7, 10-byte ISO 14443 UIDs


def normalize_wedge(line: str) -> str:
    """A desk reader's line as the kiosk's UID (uppercase hex, reader byte order).

    Readers set to hex output type what the kiosk sends ("04a1b2c3", "04:A1:B2:C3").
    Readers left on their factory "10-digit decimal" type a 4-byte UID as one
    number: we convert it to 8 hex digits. Set readers to hex (docs/provisioning.md)."""
    raw = line.strip()
    clean = re.sub(r"[\s:.-]", "", raw).upper()
    if clean.isdigit() and len(clean) == 10 and int(clean) < 1 << 32:
        return f"{int(clean):08X}"
    if _HEX.match(clean) and len(clean) in UID_HEX_LENGTHS:
        return clean
    raise ProvisionError(
        f"{raw!r} is not a badge UID (4, 7 or 10 bytes of hex, or a 10-digit number): "
        "tap the badge again, or set the desk reader to hex output"
    )


def read_wedge(read_line=input) -> str:
    return normalize_wedge(read_line())


def next_kiosk_tap(backend, kiosk_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uid = backend.enroll_tap(kiosk_id, min(POLL_S, max(1.0, deadline - time.monotonic())))
        if uid:
            return uid
    raise ProvisionError(
        f"no badge was tapped on kiosk {kiosk_id} within {timeout:.0f} s: check the kiosk "
        "is online (`noxus-provision list` / fleet page) and tap again"
    )
