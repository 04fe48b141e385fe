"""Fixtures for the emulated RP2040 tests: skip with the reason when the
emulator or the firmware is not there; the Pico program's files."""

import json
import pathlib

import pytest

from tests.rp2040 import emulator

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Pins of the interim program (board/emu_kiosk.py); the reader on SPI0.
PINS = {"sck": 18, "mosi": 19, "miso": 16, "cs": 17, "green": 14, "red": 15, "buzzer": 13}


@pytest.fixture(autouse=True)
def _emulator_ready():
    """Node, rp2040js and the firmware are installable: missing, the tests fail and
    say how (docs/testing.md, "Skips")."""
    why = emulator.missing()
    if why:
        pytest.fail(f"emulated RP2040: {why}")


@pytest.fixture(scope="session")
def core_files():
    """The portable core as noxus-provision install puts it on a board (.mpy)."""
    from noxus_provision.fileset import firmware_files
    return {f.path: f.data for f in firmware_files("pico", mpy=True)
            if f.path.startswith("firmware/") or f.path.startswith("lib/")}


@pytest.fixture(scope="session")
def kiosk_image(core_files):
    """-> image(**emu_json): a flash image booting the Pico kiosk."""
    def image(**cfg):
        files = dict(core_files)
        files["emu_kiosk.py"] = (HERE / "board" / "emu_kiosk.py").read_bytes()
        files["main.py"] = b"import emu_kiosk\nemu_kiosk.main()\n"
        files["emu.json"] = json.dumps({"kiosk_id": "EMU1", "pins": PINS, **cfg}).encode()
        return emulator.make_image(files)
    return image


def pytest_terminal_summary(terminalreporter):
    """Say it at the end of `make test`, not only with -rs: a skipped
    emulator is a hole in the proof, never a silent one."""
    why = emulator.missing()
    if why:
        terminalreporter.write_line(f"tests/rp2040 cannot run (emulated RP2040): {why}", red=True, bold=True)


@pytest.fixture(scope="session")
def program_image():
    """-> image(**kiosk_json): the real Pico program (firmware/ports/pico), the
    files noxus-provision install writes, plus a `network` stub (no CYW43 on
    the emulator: the kiosk runs offline) and an enrolled kiosk.json."""
    from noxus_provision.fileset import firmware_files
    base = {f.path: f.data for f in firmware_files("pico", mpy=True)}
    if "firmware/ports/pico/main.mpy" not in base:
        pytest.fail("firmware/ports/pico/main.py did not build into the file set")

    def image(**cfg):
        files = dict(base)
        files["network.py"] = (HERE / "board" / "network.py").read_bytes()
        kiosk = {"kiosk_id": "EMU1", "wifi": {"ssid": "offline", "password": "x"},
                 "broker": {"host": "127.0.0.1", "port": 1883}, **cfg}
        files["kiosk.json"] = json.dumps(kiosk).encode()
        return emulator.make_image(files)
    return image
