"""Python side of the emulated RP2040 (runner.mjs): flash images with a
littlefs filesystem, the runner process, its events, and the REPL over the
emulated USB CDC through mpremote's SerialTransport (the raw REPL exactly as
noxus-provision drives a real board). docs/rp2040-emulation.md."""

import hashlib
import json
import os
import pathlib
import queue
import shutil
import subprocess
import tempfile
import threading
import time

import littlefs

from tests.support.cache import cache_dir, writable, writable_cache_dir

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD_SCRIPT = REPO / "scripts" / "build_rp2.sh"
MANIFEST = REPO / "firmware" / "manifest.py"
# what scripts/build_rp2.sh freezes into the image (its `frozen_key`)
FROZEN = ("firmware/__init__.py", "firmware/ports/__init__.py", "firmware/core", "firmware/ports/pico")


def build_key() -> str:
    """The stamp scripts/build_rp2.sh writes, computed the same way: the script and the
    manifest, then every frozen source (ours and chumicro-mqtt's), in C-locale path order."""
    import chumicro_mqtt

    site = pathlib.Path(chumicro_mqtt.__file__).parent.parent
    # find names ours relative to the repository and the library's absolute: that is the order
    roots = [pathlib.Path(r) for r in FROZEN] + sorted(site.glob("chumicro_*"))
    files = []
    for root in roots:
        full = REPO / root  # an absolute root stays itself
        for f in [full] if full.is_file() else full.rglob("*.py"):
            if f.suffix == ".py" and "__pycache__" not in f.parts:
                files.append(str(root / f.relative_to(full)) if full.is_dir() else str(root))
    frozen = hashlib.sha256()
    for name in sorted(files):
        frozen.update((REPO / name).read_bytes())
    tree = hashlib.sha256(BUILD_SCRIPT.read_bytes() + MANIFEST.read_bytes()).hexdigest()[:16]
    return f"{tree}-{frozen.hexdigest()[:16]}"


def built(folder: pathlib.Path) -> bool:
    """A finished scripts/build_rp2.sh run of this very script, manifest and frozen code (its stamp):
    a user who may not write the system cache uses it only then."""
    key = build_key()
    try:
        stamp = (folder / "stamp").read_text().strip()
    except OSError:
        return False
    return stamp == key and (folder / "firmware.bin").is_file() and (folder / "bootrom.bin").is_file()


CACHE = pathlib.Path(os.environ.get("NOXUS_RP2_CACHE") or cache_dir("rp2", built))
# figures of the last run, for bench.rp2040 --from-last-test-run: a folder this user writes to
RESULTS = pathlib.Path(
    os.environ.get("NOXUS_RP2_RESULTS")
    or (CACHE if writable(CACHE) else writable_cache_dir("rp2")) / "results.json"
)
FIRMWARE = CACHE / "firmware.bin"
BOOTROM = CACHE / "bootrom.bin"
RUNNER = HERE / "runner.mjs"

FLASH_SIZE = 2 * 1024 * 1024
# MicroPython rp2 RPI_PICO: the last 1408 KiB of the 2 MiB flash are the
# filesystem (MICROPY_HW_FLASH_STORAGE_BYTES), littlefs v2 in 4 KiB blocks.
FS_OFFSET = FLASH_SIZE - 1408 * 1024  # 0xA0000
FS_BLOCK = 4096
FS_BLOCKS = 1408 * 1024 // FS_BLOCK
NS_PER_CYCLE = 8  # 125 MHz


def missing():
    """Why the emulator cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is missing (NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh installs it)"
    if not (HERE / "node_modules" / "rp2040js" / "package.json").exists():
        return "rp2040js is not installed: run NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh"
    if not FIRMWARE.exists() or not BOOTROM.exists():
        return (
            f"the MicroPython rp2 firmware is not built in {CACHE}: run scripts/build_rp2.sh "
            f"(log in {CACHE}/build.log)"
        )
    return None


def _lfs(buffer=None):
    kw = {
        "block_size": FS_BLOCK,
        "block_count": FS_BLOCKS,
        "prog_size": 256,
        "read_size": 32,
        "lookahead_size": 32,
    }
    if buffer is None:
        return littlefs.LittleFS(**kw)
    fs = littlefs.LittleFS(mount=False, **kw)
    fs.context.buffer = bytearray(buffer)
    fs.mount()
    return fs


def make_image(files):
    """A 2 MiB flash image (without the firmware) whose littlefs holds files:
    {board path: bytes}."""
    fs = _lfs()
    for path, data in files.items():
        d = os.path.dirname(path)
        if d:
            fs.makedirs(d, exist_ok=True)
        with fs.open(path, "wb") as f:
            f.write(data)
    img = bytearray(b"\xff" * FLASH_SIZE)
    buf = fs.context.buffer
    img[FS_OFFSET : FS_OFFSET + len(buf)] = buf
    return bytes(img)


def read_files(image, root=""):
    """{path: bytes} of every file under root in the image's littlefs (mounting
    it as littlefs itself does: a torn filesystem raises here)."""
    fs = _lfs(image[FS_OFFSET:])
    out = {}
    for top, _dirs, names in fs.walk(root or "/"):
        for n in names:
            p = (top.rstrip("/") + "/" + n).lstrip("/")
            with fs.open(p, "rb") as f:
                out[p] = f.read()
    return out


def extract(image, root, dest):
    """Copy the littlefs tree under root to the host directory dest."""
    dest = pathlib.Path(dest)
    for path, data in read_files(image, root).items():
        p = dest / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dest


def font_8x8():
    """MicroPython's framebuf font (extmod/font_petme128_8x8.h, kept by the
    build in the cache): {column bytes (8): character}, ASCII 32-127."""
    import re

    text = (CACHE / "font_petme128_8x8.h").read_text()
    body = text[text.index("{") + 1 : text.rindex("}")]
    values = [int(v, 16) for v in re.findall(r"0x[0-9a-fA-F]{2}", re.sub(r"//.*", "", body))]
    return {bytes(values[i * 8 : i * 8 + 8]): chr(32 + i) for i in range(len(values) // 8)}


def screen_text(ram, line_px=12, width=128, height=64):
    """The text lines on a 128x64 SSD1306 GDDRAM (8 pages x 128 columns, a
    byte = 8 vertical pixels, bit 0 on top), read back with the font that
    drew them: firmware/core/ui/display.py draws lines at y = 12 * i, x = 0,
    with framebuf's 8x8 font. Trailing blanks and empty lines are dropped."""
    font = font_8x8()

    def px(x, y):
        return ram[(y // 8) * width + x] >> (y % 8) & 1

    lines = []
    for row in range(0, height - 7, line_px):
        chars = ""
        for col in range(0, width, 8):
            cell = bytes(sum(px(col + j, row + k) << k for k in range(8)) for j in range(8))
            chars += font.get(cell, "?")
        lines.append(chars.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


class Pico:
    """One emulated Pico: `with Pico(image, ...) as pico:`. Events from the
    runner are kept in .events (dicts); .out is what the board printed."""

    def __init__(
        self,
        image,
        cs_pin=17,
        watch_pins=(),
        spi=0,
        cut_at_cycle=None,
        max_cycles=None,
        flash_timing=None,
        cut_at_flash_op=None,
        seed=1,
        display=None,
        w5500=None,
    ):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="noxus-rp2-"))
        (self.tmp / "flash_in.bin").write_bytes(image)
        self.cfg = {
            "bootrom": str(BOOTROM),
            "firmware": str(FIRMWARE),
            "flash_in": str(self.tmp / "flash_in.bin"),
            "flash_out": str(self.tmp / "flash_out.bin"),
            "spi": spi,
            "cs_pin": cs_pin,
            "watch_pins": list(watch_pins),
            "cut_at_cycle": cut_at_cycle,
            "max_cycles": max_cycles,
            "flash_timing": flash_timing,
            "cut_at_flash_op": cut_at_flash_op,
            "seed": seed,
            "display": display,
            "w5500": w5500,
        }
        (self.tmp / "cfg.json").write_text(json.dumps(self.cfg))
        self.events = []
        self.out = bytearray()
        self._q = queue.Queue()
        self._cond = threading.Condition()
        self.proc = None
        self.port = None
        self.off = None  # the final event: why the power went off
        self.transport = None

    # -- process --------------------------------------------------------------
    def __enter__(self):
        self.proc = subprocess.Popen(
            ["node", str(RUNNER), str(self.tmp / "cfg.json")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        threading.Thread(target=self._read, daemon=True).start()
        ev = self.wait_for(lambda e: e["ev"] == "listening", timeout=30)
        self.port = ev["port"]
        return self

    def __exit__(self, *exc):
        self.power_off()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            with self._cond:
                if ev["ev"] == "out":
                    self.out += bytes.fromhex(ev["hex"])
                self.events.append(ev)
                if ev["ev"] == "off":
                    self.off = ev
                self._cond.notify_all()
        with self._cond:
            self.events.append({"ev": "exit"})
            self._cond.notify_all()

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pred, timeout=60, start=0):
        """The first event from index start matching pred; its index in .index_of."""
        deadline = time.monotonic() + timeout
        with self._cond:
            i = start
            while True:
                while i < len(self.events):
                    e = self.events[i]
                    if e["ev"] == "exit":
                        raise AssertionError(f"the emulator stopped: {self.events[-3:]}\n{self.out[-800:]!r}")
                    if pred(e):
                        self.index_of = i
                        return e
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timeout waiting in the emulator; last events {self.events[-5:]}\n"
                        f"board output: {bytes(self.out[-800:]).decode(errors='replace')}"
                    )
                self._cond.wait(left)

    def wait_out(self, text, timeout=60, or_off=False, since=0):
        """Wait until the board printed text (bytes or str), in what it printed
        from offset `since` on. or_off: -> False if the power went off first
        (a scheduled cut)."""
        text = text.encode() if isinstance(text, str) else text
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in self.out[since:]:
                if or_off and (self.off or self.events and self.events[-1]["ev"] == "exit"):
                    return False
                # the friendly REPL's prompt: the program ended (or never started)
                if self.off or time.monotonic() > deadline or b"\n>>> " in self.out[since:]:
                    raise AssertionError(
                        f"the board never printed {text!r}; it printed:\n"
                        f"{bytes(self.out[-1500:]).decode(errors='replace')}"
                    )
                self._cond.wait(0.5)
        return True

    def now(self):
        """(cycle, t_ns) of the emulator now."""
        self.send(cmd="status")
        n = len(self.events)
        ev = self.wait_for(lambda e: e["ev"] == "status", start=n - 1 if n else 0, timeout=30)
        return ev

    def script(self, steps):
        """Run steps [{after_ms, cmd, ...}] on the emulated clock, relative to now."""
        self.send(cmd="script", steps=steps)

    def frames(self):
        """[(t_ns, lines)]: what the SSD1306 showed, read back as text."""
        return [
            (e["t_ns"], screen_text(bytes.fromhex(e["hex"]))) for e in self.events if e["ev"] == "display"
        ]

    def gpio(self, pin):
        return [e for e in self.events if e["ev"] == "gpio" and e["pin"] == pin]

    def power_off(self):
        """Cut the power now; -> the flash image as it is."""
        if self.proc and self.proc.poll() is None:
            try:
                self.send(cmd="cut")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.transport is not None:
            try:
                self.transport.close()
            except OSError:
                pass  # the emulator is already gone
            self.transport = None
        out = self.tmp / "flash_out.bin"
        return out.read_bytes() if out.exists() else None

    def wait_off(self, timeout=600):
        """Wait for the scheduled power cut; -> the flash image as it is."""
        self.proc.wait(timeout=timeout)
        return self.power_off()

    # -- REPL -----------------------------------------------------------------
    def repl(self):
        """mpremote's SerialTransport on the emulated USB CDC, in the raw REPL
        (Ctrl-C stops the running program first, as on a real board)."""
        from mpremote.transport_serial import SerialTransport

        self.wait_for(lambda e: e["ev"] == "usb", timeout=60)
        self.send(cmd="pace", on=True)  # the watchdog counts emulated time: keep it near wall time
        t = SerialTransport(f"socket://127.0.0.1:{self.port}", timeout=1)
        t.enter_raw_repl(soft_reset=False, timeout_overall=60)
        self.transport = t
        return t

    def exec(self, code, timeout=60):
        """Run code on the board (raw REPL); -> its output. A Python error on
        the board raises AssertionError with its traceback."""
        if self.transport is None:
            self.repl()
        out, err = self.transport.exec_raw(code, timeout=timeout)
        if err:
            raise AssertionError(f"error on the board:\n{err.decode(errors='replace')}")
        return out.decode(errors="replace")

    def eval(self, expr):
        if self.transport is None:
            self.repl()
        return self.transport.eval(expr)
