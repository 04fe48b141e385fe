"""flash to a BOOTSEL drive (a folder), `pi install` into a prefix, badge UIDs from a desk reader."""

import json
import pathlib
import struct

import pytest
from noxus_provision import badge, flash, pi, ports
from noxus_provision.errors import ProvisionError, WrongBoard
from noxus_provision.ports import Found
from serial.tools.list_ports_common import ListPortInfo


def uf2(path: pathlib.Path, family=0xE48BFF56, blocks=3) -> pathlib.Path:
    data = b""
    for n in range(blocks):
        head = struct.pack(
            "<8I",
            flash.UF2_MAGIC0,
            flash.UF2_MAGIC1,
            flash.UF2_FAMILY_FLAG,
            0x10000000 + 256 * n,
            256,
            n,
            blocks,
            family,
        )
        data += head + bytes(476) + struct.pack("<I", flash.UF2_MAGIC_END)
    path.write_bytes(data)
    return path


@pytest.fixture
def drive(tmp_path):
    d = tmp_path / "RPI-RP2"
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    return d


def test_flash_copies_the_uf2_and_waits_for_the_new_serial_port(tmp_path, drive):
    image = uf2(tmp_path / "RPI_PICO_W-v1.24.uf2")
    assert flash.check_uf2(image) == "RP2040"
    assert ports.bootsel_drives([drive])[0].device == str(drive)
    flash.copy_uf2(image, flash.find_drive(drive))
    assert (drive / image.name).read_bytes() == image.read_bytes()

    calls = []

    def lister():  # the board re-enumerates after a few polls, next to a port that was already there
        calls.append(1)
        old = Found("micropython", "/dev/ttyACM0", "AAAA", "MicroPython")
        new = Found("micropython", "/dev/ttyACM1", "E6614103E7452D2F", "MicroPython")
        return [old, new] if len(calls) > 2 else [old]

    assert flash.wait_for_board({"/dev/ttyACM0"}, 10, lister).serial_number == "E6614103E7452D2F"


def test_flash_refuses_a_file_that_is_not_a_uf2_or_for_another_chip(tmp_path, drive):
    (tmp_path / "fw.bin").write_bytes(bytes(1024))
    with pytest.raises(ProvisionError, match="not a UF2"):
        flash.check_uf2(tmp_path / "fw.bin")
    with pytest.raises(WrongBoard, match="another chip family"):
        flash.check_uf2(uf2(tmp_path / "esp32.uf2", family=0x1C5F21B0))
    with pytest.raises(ProvisionError, match="not a BOOTSEL drive"):
        flash.find_drive(tmp_path)


def test_list_recognises_micropython_picos_by_usb_id(monkeypatch):
    pico = ListPortInfo("/dev/ttyACM0")
    pico.vid, pico.pid, pico.serial_number, pico.description = (
        0x2E8A,
        0x0005,
        "E6614103E7452D2F",
        "Board in FS mode",
    )
    other = ListPortInfo("/dev/ttyUSB0")
    other.vid, other.pid, other.description = 0x10C4, 0xEA60, "CP2102"
    monkeypatch.setattr(ports.list_ports, "comports", lambda: [other, pico])
    assert [(f.kind, f.device, f.serial_number) for f in ports.serial_boards()] == [
        ("micropython", "/dev/ttyACM0", "E6614103E7452D2F")
    ]
    assert [f.kind for f in ports.serial_boards(include_other=True)] == ["micropython", "other"]


def test_pi_install_into_a_prefix_then_a_rerun_changes_nothing(tmp_path):
    root = tmp_path / "pi"
    config = tmp_path / "kiosk.json"
    config.write_text(json.dumps({"kiosk_id": "nx-pi", "broker": {"password": "secret"}}))
    runner = pi.LocalRunner(root)
    first = dict(pi.install(runner, config, systemd=False, pip=False))
    assert all(first.values())
    assert (root / "opt/noxus/.venv/bin/python").exists()
    assert (root / "opt/noxus/firmware/ports/pi/main.py").exists()
    assert (root / "opt/noxus/hardware/pinmap.json").exists()
    assert (root / "etc/noxus/kiosk.json").stat().st_mode & 0o777 == 0o600
    unit = (root / "etc/systemd/system/noxus-kiosk.service").read_text()
    assert "ExecStart=/opt/noxus/.venv/bin/python -m firmware.ports.pi.main /etc/noxus/kiosk.json" in unit
    again = dict(pi.install(runner, config, systemd=False, pip=False))
    assert not any(again.values())


@pytest.mark.parametrize(
    "typed, uid",
    [
        ("04a1b2c3\n", "04A1B2C3"),
        ("04:A1:B2:C3:D4:E5:F6\r\n", "04A1B2C3D4E5F6"),
        ("0012345678\n", "00BC614E"),  # factory "10-digit decimal" output of a 4-byte UID
    ],
)
def test_desk_reader_lines_become_kiosk_uids(typed, uid):
    assert badge.read_wedge(lambda: typed) == uid


def test_desk_reader_garbage_is_refused_with_what_to_do():
    with pytest.raises(ProvisionError, match="set the desk reader to hex output"):
        badge.normalize_wedge("hello")
