"""Claim codes: a kiosk installed by someone without a technician token.

The installer runs `noxus-provision claim prepare` (or the kiosk draws a code
itself); the kiosk shows the code, announces it (POST /api/v1/enrollment/claims),
staff approve it (`claim approve` or the web UI), and the kiosk's next poll
(POST /api/v1/enrollment/claims/redeem) returns its config once.
claim.json on the board: {"v": 1, "api": URL, "code": CODE, "wifi": {...}}."""

import json
import secrets
import time

from noxus_provision.api import Backend
from noxus_provision.board import Board
from noxus_provision.errors import ProvisionError

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read off a small display
CODE_LEN = 10  # ~49 bits; a claim also expires (claim_ttl_hours) and is bound to the board id
CLAIM_FILE = "claim.json"
API_CA_FILE = "api-ca.pem"  # the CA of the API's certificate, pinned by the kiosk (firmware/core/claim.py)


def new_code() -> str:
    c = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
    return c[:5] + "-" + c[5:]


def prepare(
    board: Board,
    api: str,
    wifi_ssid: str | None,
    wifi_password: str | None,
    port: str,
    api_ca: bytes | None = None,
) -> str:
    """claim.json (and the API's CA the kiosk pins, written first) on the board."""
    if api_ca:
        board.write_file(API_CA_FILE, api_ca)
    existing = board.read_file(CLAIM_FILE)
    if existing:  # rerun: keep the code the kiosk may already show
        try:
            return json.loads(existing)["code"]
        except (ValueError, KeyError):
            pass
    code = new_code()
    cfg: dict = {"v": 1, "api": api.rstrip("/"), "code": code}
    if api_ca:
        cfg["ca_file"] = API_CA_FILE
    if api.startswith("http://"):  # the local demo: the kiosk refuses plain http unless told so
        cfg["tls"] = False
    if wifi_ssid:
        cfg["wifi"] = {"ssid": wifi_ssid, "password": wifi_password or "", "country": "CH"}
    # what `enroll` would add to kiosk.json for this port (kioskconfig.build)
    cfg["config"] = (
        {"pinmap": "hardware/pinmap.json"} if port == "pico" else {"sim": {"taps": 0, "quiet": True}}
    )
    board.write_file(CLAIM_FILE, json.dumps(cfg, sort_keys=True).encode())
    return code


def redeem(api: str, board_uid: str, code: str, model: str, timeout: float, poll_s: float = 5.0) -> dict:
    """The kiosk's side (reference implementation, used by Raspberry Pi kiosks):
    announce, then poll until approved; returns the enrollment with credentials."""
    backend = Backend(api, None)
    try:
        backend.open_claim(board_uid, code, model)
        deadline = time.monotonic() + timeout
        while True:
            got = backend.redeem_claim(board_uid, code)
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                raise ProvisionError(f"claim {code} was not approved within {timeout:.0f} s")
            time.sleep(poll_s)
    finally:
        backend.close()
