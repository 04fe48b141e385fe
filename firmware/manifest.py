# ruff: noqa: F821  (freeze, include, module, package: the manifest tool's functions)
# The NoxusTime firmware image: what scripts/build_rp2.sh freezes into the
# MicroPython rp2 firmware, so the kiosk's bytecode runs from flash and the
# heap is left for data. Read by MicroPython's tools/makemanifest.py (this is
# a manifest, not a module: freeze/include/package come from that tool).
# Paths are relative to this folder. docs/firmware.md, "The firmware image".
#
# On the board's filesystem there remains only configuration: main.py (the
# boot stub), kiosk.json, hardware/pinmap.json, config/, the journal.
# Modules on the filesystem shadow frozen ones (sys.path is '', '.frozen',
# '/lib'): a `noxus-provision install` of a newer tree runs that tree.
import glob
import json
import os

# The port's own modules (rp2, _boot) and asyncio, as MicroPython's manifest.
# micropython-lib is not packaged in Debian; the kiosk needs none of it.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")

# The kiosk: the portable core and the Pico port. The simulator's reader
# (noxus_provision.fileset.SIM_ONLY) and the other ports stay off boards.
OFF_BOARD = ("sim_reader.py",)
files = ["__init__.py", "ports/__init__.py"]
for top in ("core", "ports/pico"):
    for d, _dirs, names in os.walk(top):
        if "__pycache__" in d:
            continue
        files += sorted(os.path.join(d, n) for n in names if n.endswith(".py") and n not in OFF_BOARD)
package("firmware", files=files, base_path="..")

# The SSD1306 driver, when the pin map declares a display (PyPI
# micropython-ssd1306-driver; the build puts it in NOXUS_FREEZE_EXTRA).
with open("../hardware/pinmap.json") as f:
    pinmap = json.load(f)
if any(isinstance(b, dict) and b.get("display", {}).get("chip") == "SSD1306" for b in pinmap.values()):
    extra = os.environ.get("NOXUS_FREEZE_EXTRA")
    if not extra or not os.path.exists(os.path.join(extra, "ssd1306.py")):
        raise SystemExit("the pin map declares an SSD1306: run scripts/build_rp2.sh (it fetches the driver)")
    module("ssd1306.py", base_path=extra)

# The MQTT client and what it needs (firmware/build.py PACKAGES), from the
# virtualenv's site-packages, or NOXUS_FREEZE_SITE (the build sets it).
site = os.environ.get("NOXUS_FREEZE_SITE") or (glob.glob("../.venv/lib/python3*/site-packages") or [""])[0]
for name in ("chumicro_mqtt", "chumicro_sockets", "chumicro_timing", "chumicro_config"):
    found = []
    for d, _dirs, names in os.walk(os.path.join(site, name)):
        if "__pycache__" in d:
            continue
        found += sorted(os.path.relpath(os.path.join(d, n), os.path.join(site, name)) for n in names
                        if n.endswith(".py") and n != "testing.py")  # test doubles, not for the device
    if not found:
        raise SystemExit(name + " is not installed in " + repr(site) + ": run `make venv`")
    package(name, files=found, base_path=site)
