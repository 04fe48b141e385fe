"""`flash`: copy a MicroPython .uf2 onto a Pico in BOOTSEL mode, then wait for
it to come back as a MicroPython serial port. The NoxusTime image
(scripts/build_rp2.sh: MicroPython with the kiosk frozen in) is written as
firmware.uf2 by `bin_to_uf2`; a stock MicroPython .uf2 works too."""

import os
import pathlib
import struct
import time
from collections.abc import Callable

from noxus_provision.errors import ProvisionError, WrongBoard
from noxus_provision.ports import Found, bootsel_drives, serial_boards

UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
UF2_FAMILY_FLAG = 0x00002000
FAMILIES = {
    0xE48BFF56: "RP2040",
    0xE48BFF59: "RP2350-ARM-S",
    0xE48BFF5B: "RP2350-ARM-NS",
    0xE48BFF5A: "RP2350-RISCV",
    0xE48BFF57: "RP2XXX-ABSOLUTE",
}
BLOCK = 512


FLASH_BASE = 0x10000000  # RP2040 XIP flash: where the firmware image starts
PAYLOAD = 256


def bin_to_uf2(data: bytes, family: int = 0xE48BFF56, base: int = FLASH_BASE) -> bytes:
    """A flat flash image (firmware.bin) as UF2: 256-byte payloads in 512-byte
    blocks, the RP2040 family id set (the format of microsoft/uf2, as
    picotool writes it)."""
    count = (len(data) + PAYLOAD - 1) // PAYLOAD
    out = bytearray()
    for n in range(count):
        chunk = data[n * PAYLOAD : (n + 1) * PAYLOAD].ljust(PAYLOAD, b"\x00")
        block = (
            struct.pack(
                "<8I", UF2_MAGIC0, UF2_MAGIC1, UF2_FAMILY_FLAG, base + n * PAYLOAD, PAYLOAD, n, count, family
            )
            + chunk
        )
        out += block.ljust(BLOCK - 4, b"\x00") + struct.pack("<I", UF2_MAGIC_END)
    return bytes(out)


def uf2_to_bin(data: bytes, base: int = FLASH_BASE) -> bytes:
    """The flat image a UF2 writes from `base` on (gaps as 0xFF)."""
    image = bytearray()
    for i in range(0, len(data), BLOCK):
        _m0, _m1, _flags, addr, size, _no, _count, _family = struct.unpack_from("<8I", data, i)
        off = addr - base
        if len(image) < off + size:
            image += b"\xff" * (off + size - len(image))
        image[off : off + size] = data[i + 32 : i + 32 + size]
    return bytes(image)


def check_uf2(path: pathlib.Path) -> str:
    """The UF2's target family name; raises if it is not a UF2 for a Raspberry Pi chip."""
    data = path.read_bytes()
    if len(data) < BLOCK or len(data) % BLOCK:
        raise ProvisionError(
            f"{path} is not a UF2 file (size {len(data)} is not a multiple of 512): "
            "download MicroPython for the Pico W from micropython.org/download/RPI_PICO_W"
        )
    m0, m1, flags, _addr, _size, _no, _count, family = struct.unpack_from("<8I", data, 0)
    (end,) = struct.unpack_from("<I", data, BLOCK - 4)
    if (m0, m1, end) != (UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END):
        raise ProvisionError(
            f"{path} is not a UF2 file (bad magic): download MicroPython for the Pico W "
            "from micropython.org/download/RPI_PICO_W"
        )
    if flags & UF2_FAMILY_FLAG and family not in FAMILIES:
        raise WrongBoard(
            f"{path} is a UF2 for another chip family (0x{family:08X}), not a Raspberry Pi "
            "RP2040/RP2350: take the RPI_PICO_W build"
        )
    return FAMILIES.get(family, "unknown family")


def find_drive(drive: pathlib.Path | None) -> pathlib.Path:
    if drive is not None:
        if not (drive / "INFO_UF2.TXT").exists():
            raise ProvisionError(
                f"{drive} is not a BOOTSEL drive (no INFO_UF2.TXT): hold BOOTSEL while "
                "plugging the Pico in, then give the drive that appears (RPI-RP2)"
            )
        return drive
    drives = [d for d in bootsel_drives() if d.device]
    if not drives:
        raise ProvisionError(
            "no Pico in BOOTSEL mode: hold the BOOTSEL button while plugging the USB "
            "cable in; a drive named RPI-RP2 appears. Then rerun."
        )
    if len(drives) > 1:
        raise ProvisionError(
            "several BOOTSEL drives are mounted: plug in one Pico at a time, or give --drive"
        )
    return pathlib.Path(drives[0].device)


def copy_uf2(
    uf2: pathlib.Path, drive: pathlib.Path, progress: Callable[[int, int], None] | None = None
) -> None:
    data = uf2.read_bytes()
    target = drive / uf2.name
    written = 0
    try:
        with open(target, "wb") as f:
            for i in range(0, len(data), 64 * BLOCK):
                f.write(data[i : i + 64 * BLOCK])
                written = min(len(data), i + 64 * BLOCK)
                if progress:
                    progress(written, len(data))
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        # The Pico reboots as soon as the last block lands, and the drive vanishes under us.
        if written < len(data):
            raise ProvisionError(
                f"copying to {drive} failed after {written} of {len(data)} bytes ({e}): "
                "put the Pico back in BOOTSEL mode and rerun `flash`"
            ) from None


def wait_for_board(
    before: set[str], timeout: float, lister: Callable[[], list[Found]] = serial_boards
) -> Found:
    """The first MicroPython port that was not there before the copy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for b in lister():
            if b.device not in before:
                return b
        time.sleep(0.2)
    raise ProvisionError(
        f"no MicroPython board appeared within {timeout:.0f} s after flashing. Unplug and "
        "replug the Pico (without BOOTSEL) and run `noxus-provision list`; if it still "
        "does not show, the .uf2 may be for another board (use RPI_PICO_W)."
    )
