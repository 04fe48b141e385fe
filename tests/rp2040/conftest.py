"""Fixtures for the emulated RP2040 tests: skip with the reason when the
emulator or the firmware is not there; the Pico program's files."""

import json
import pathlib

import pytest

from tests.rp2040 import emulator

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# The Pico W pin map the real program reads (hardware/pinmap.json); the reader on SPI0.
_PM = json.loads((REPO / "hardware" / "pinmap.json").read_text())["pico_w"]
PINS = {"cs": _PM["reader"]["cs"], "green": _PM["led_green"], "red": _PM["led_red"], "buzzer": _PM["buzzer"]}


@pytest.fixture(autouse=True)
def _emulator_ready():
    """Node, rp2040js and the firmware are installable: missing, the tests fail and
    say how (docs/testing.md, "Skips")."""
    why = emulator.missing()
    if why:
        pytest.fail(f"emulated RP2040: {why}")


def pytest_terminal_summary(terminalreporter):
    """Say it at the end of `make test`, not only with -rs: a skipped
    emulator is a hole in the proof, never a silent one."""
    why = emulator.missing()
    if why:
        terminalreporter.write_line(f"tests/rp2040 cannot run (emulated RP2040): {why}", red=True, bold=True)


@pytest.fixture(scope="session")
def program_image():
    """-> image(config=None, files=None, frozen=False, **kiosk_json): the real
    Pico program (firmware/ports/pico), the files noxus-provision install
    writes (frozen=True: only the boot stub and the pin map, the code is the
    one frozen into the NoxusTime image, firmware/manifest.py), plus a
    `network` stub (no CYW43 on the emulator: the kiosk runs offline; not
    with network_stub=False, the wired kiosk online through the W5500 model) and an
    enrolled kiosk.json. Test knobs go into kiosk.json (docs/rp2040-emulation.md);
    `config` is the kiosk's stored backend config (config/config.json, as a
    pushed config leaves it)."""
    from noxus_provision.fileset import firmware_files

    base = {f.path: f.data for f in firmware_files("pico", mpy=True)}
    if "firmware/ports/pico/main.mpy" not in base:
        pytest.fail("firmware/ports/pico/main.py did not build into the file set")

    def image(config=None, files=None, frozen=False, network_stub=True, **cfg):
        out = {p: d for p, d in base.items() if not frozen or p in ("main.py", "hardware/pinmap.json")}
        if network_stub:  # False: the wired kiosk online, through the frozen W5500 driver
            out["network.py"] = (HERE / "board" / "network.py").read_bytes()
        kiosk = {
            "kiosk_id": "EMU1",
            "wifi": {"ssid": "offline", "password": "x"},
            "broker": {"host": "127.0.0.1", "port": 1883},
            **cfg,
        }
        out["kiosk.json"] = json.dumps(kiosk).encode()
        if config is not None:
            out["config/config.json"] = json.dumps(config).encode()
        out.update(files or {})
        return emulator.make_image(out)

    return image
