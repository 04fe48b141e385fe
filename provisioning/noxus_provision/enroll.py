"""`enroll`: from a board with MicroPython to an online, enrolled kiosk.

Steps, each safe to rerun: read the board's unique ID; install the firmware
(only what differs); register the board at the site and mint its MQTT account
(a rerun rotates the password); write kiosk.json; reboot; wait for the birth
message on noxus/v1/<kiosk_id>/state."""

import time
from dataclasses import dataclass

from noxus_provision import kioskconfig
from noxus_provision.api import Backend
from noxus_provision.board import Board
from noxus_provision.errors import ProvisionError, WrongBoard
from noxus_provision.fileset import CONFIG, MANIFEST

PORT_PLATFORM = {"pico": "rp2", "sim": "linux"}
MODEL = {"pico": "pico-w", "sim": "sim"}
POLL_S = 15.0  # one long poll to the backend


@dataclass
class EnrollRequest:
    device: str
    site_id: int
    customer_id: int | None = None
    kiosk_id: str | None = None
    name: str = ""
    port: str = "pico"
    wifi_ssid: str | None = None
    wifi_password: str | None = None
    expect_uid: str | None = None
    online_timeout: float = 120.0
    brokers: list[kioskconfig.Node] | None = None  # --broker: instead of the backend's list


def identify(board: Board, port: str, expect_uid: str | None) -> str:
    platform = board.platform()
    if platform != PORT_PLATFORM[port]:
        raise WrongBoard(
            f"the board on {board.device} runs MicroPython for {platform!r}, not "
            f"{PORT_PLATFORM[port]!r} ({port}): plug in a Pico W, or pass --port to match"
        )
    if (
        port == "pico"
        and board.exec("try:\n import network\n print(1)\nexcept ImportError:\n print(0)").strip() != b"1"
    ):
        raise WrongBoard("this Pico has no Wi-Fi (a Pico, not a Pico W): use a Pico W")
    uid = board.unique_id()
    if expect_uid and uid != expect_uid.upper():
        raise WrongBoard(
            f"the board on {board.device} is {uid}, not {expect_uid.upper()}: plug in the "
            "right board, or drop --expect-uid"
        )
    return uid


def enroll(req: EnrollRequest, backend: Backend, say=print) -> dict:
    """Returns the kiosk's birth message. `say(text)` reports progress (never secrets)."""
    with Board(req.device) as board:
        uid = identify(board, req.port, req.expect_uid)
        say(f"board {uid} on {req.device}")
        if req.port == "pico" and not req.wifi_ssid:
            raise ProvisionError("a Pico W kiosk needs its Wi-Fi: pass --wifi-ssid (and NOXUS_WIFI_PASSWORD)")
        if board.read_file(MANIFEST) is None:
            raise ProvisionError(
                f"board {uid} has no NoxusTime firmware yet: run "
                f"`noxus-provision install --device {req.device}` first"
            )
        enrolled = backend.enroll(uid, req.site_id, req.customer_id, req.kiosk_id, req.name, MODEL[req.port])
        kiosk_id = enrolled["kiosk_id"]
        say(
            f"registered as kiosk {kiosk_id} at site {enrolled['site_id']} "
            f"(customer {enrolled['customer_id']}); MQTT account {enrolled['mqtt']['username']} minted"
        )
        before = backend.state(kiosk_id)
        not_boot = before.get("boot") if before else None
        cfg = kioskconfig.build(enrolled, req.port, req.wifi_ssid, req.wifi_password, brokers=req.brokers)
        if cfg["broker"].get("ca_file"):  # the pinned CA first: kiosk.json makes the board boot
            board.write_file(cfg["broker"]["ca_file"], enrolled["mqtt"]["ca_pem"].encode())
        board.write_file(CONFIG, kioskconfig.dumps(cfg))
        if board.read_file(CONFIG) != kioskconfig.dumps(cfg):
            raise ProvisionError("kiosk.json did not read back identical: rerun `enroll`")
        say(
            f"wrote {CONFIG} ({kioskconfig.describe(cfg)}"
            + (f", Wi-Fi {req.wifi_ssid}" if req.wifi_ssid else "")
            + "); rebooting"
        )
        board.reboot()
    say(f"waiting for kiosk {kiosk_id}'s birth message on noxus/v1/{kiosk_id}/state")

    deadline = time.monotonic() + req.online_timeout
    while time.monotonic() < deadline:
        state = backend.birth(kiosk_id, not_boot, min(POLL_S, max(1.0, deadline - time.monotonic())))
        if state is not None:
            return {"kiosk_id": kiosk_id, "board_uid": uid, **state}
    raise ProvisionError(
        f"kiosk {kiosk_id} did not come online within {req.online_timeout:.0f} s. Look at its display/LED "
        "(docs/provisioning.md, troubleshooting): usually the Wi-Fi name or password, or the broker "
        "address. Fix it and rerun `enroll` (it rewrites the config)."
    )
