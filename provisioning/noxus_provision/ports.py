"""Which boards are plugged in: MicroPython serial ports (pyserial's list_ports)
and Picos in BOOTSEL mode (a USB mass-storage drive, not a serial port)."""

import os
import pathlib
from dataclasses import dataclass

from serial.tools import list_ports

RPI_VID = 0x2E8A
MICROPYTHON_PID = 0x0005  # MicroPython's USB CDC on RP2040/RP2350
BOOTSEL_PIDS = {0x0003: "RP2040", 0x000F: "RP2350"}  # the ROM's mass-storage bootloader
BOOTSEL_LABELS = ("RPI-RP2", "RP2350")
SYSFS_USB = pathlib.Path("/sys/bus/usb/devices")


@dataclass
class Found:
    kind: str  # "micropython" | "bootsel" | "other"
    device: str  # serial port, or the drive's mount point ("" if not mounted)
    serial_number: str | None  # the flash unique ID for a Pico
    description: str


def serial_boards(include_other: bool = False) -> list[Found]:
    found = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        if p.vid == RPI_VID and p.pid == MICROPYTHON_PID:
            found.append(Found("micropython", p.device, p.serial_number, p.description or "MicroPython"))
        elif include_other and p.vid is not None:
            found.append(
                Found(
                    "other",
                    p.device,
                    p.serial_number,
                    f"{p.description} (USB {p.vid:04X}:{p.pid:04X}): not a MicroPython board",
                )
            )
    return found


def _mount_points() -> list[pathlib.Path]:
    points = []
    try:
        for line in pathlib.Path("/proc/mounts").read_text().splitlines():
            mnt = line.split()[1].replace("\\040", " ")
            points.append(pathlib.Path(mnt))
    except OSError:
        pass
    user = os.environ.get("USER", "")
    for base in (f"/media/{user}", f"/run/media/{user}", "/media", "/Volumes"):
        for label in BOOTSEL_LABELS:
            points.append(pathlib.Path(base) / label)
    return points


def is_bootsel_drive(path: pathlib.Path) -> bool:
    info = path / "INFO_UF2.TXT"
    try:
        text = info.read_text(errors="replace")
    except OSError:
        return False
    return "RPI-RP2" in text or "RP2350" in text or "Board-ID: RP" in text


def bootsel_drives(extra: list[pathlib.Path] = ()) -> list[Found]:
    seen, found = set(), []
    for mp in [*extra, *_mount_points()]:
        if mp in seen or not is_bootsel_drive(mp):
            continue
        seen.add(mp)
        found.append(Found("bootsel", str(mp), None, "Pico in BOOTSEL mode (drive mounted)"))
    if not found:  # in BOOTSEL mode but the drive is not mounted (headless laptop)
        for dev in SYSFS_USB.glob("*") if SYSFS_USB.exists() else []:
            try:
                vid = int((dev / "idVendor").read_text(), 16)
                pid = int((dev / "idProduct").read_text(), 16)
            except (OSError, ValueError):
                continue
            if vid == RPI_VID and pid in BOOTSEL_PIDS:
                serial = (dev / "serial").read_text().strip() if (dev / "serial").exists() else None
                found.append(
                    Found(
                        "bootsel",
                        "",
                        serial,
                        f"{BOOTSEL_PIDS[pid]} in BOOTSEL mode: drive not mounted, mount it",
                    )
                )
    return found
