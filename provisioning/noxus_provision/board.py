"""One MicroPython board on a serial port, driven over the raw REPL with
mpremote's SerialTransport (raw-paste mode when the board offers it).

Every serial failure becomes BoardGone with a message naming what to do;
a Python exception on the board becomes ProvisionError with its last line.
Board paths are relative to the filesystem root: on a Pico the working
directory is made "/" first; on a simulated board (Unix port) it is the
board's folder."""

import ast
import binascii
import contextlib
import io
import time
from typing import Self

import serial
from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from noxus_provision.errors import BoardGone, ProvisionError

WRITE_CHUNK = 1024  # bytes per raw-REPL exec: big enough to be quick, small for a Pico's RAM
HASH_BATCH = 16  # paths hashed per round trip
RAW_REPL_TRY_S = 2.0  # per Ctrl-C + Ctrl-A attempt
PART = ".part"  # files are written under this suffix, then renamed: never a half file in place

_PRELUDE = """\
import gc, os, sys
gc.collect()
if sys.platform != 'linux':
    os.chdir('/')
def _nx_mkdirs(p):
    d = ''
    for part in p.split('/')[:-1]:
        d = d + '/' + part if d else part
        try:
            os.mkdir(d)
        except OSError:
            pass
def _nx_hash(p):
    import hashlib, binascii
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(m[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
"""

_UNIQUE_ID = """\
import machine, binascii
print(repr(binascii.hexlify(machine.unique_id()).decode().upper()))
"""


def gone(device: str, why: object = "") -> BoardGone:
    return BoardGone(
        f"lost the board on {device} ({why or 'no answer'}). Check the USB cable is plugged in "
        "(a data cable, not a charge-only one), then rerun the same command: "
        "finished steps are skipped."
    )


class Board:
    """Use as a context manager: opens the port and enters the raw REPL."""

    def __init__(self, device: str, timeout: float = 10):
        self.device = device
        self.timeout = timeout
        self.transport: SerialTransport | None = None

    def __enter__(self) -> Self:
        try:
            self.transport = SerialTransport(self.device, timeout=1)
        except (TransportError, serial.SerialException, OSError) as e:
            raise ProvisionError(
                f"cannot open {self.device}: {e}. Run `noxus-provision list` to see the boards, and close "
                "any other program using the port (Thonny, mpremote, a serial console)."
            ) from None
        try:
            self._enter_raw_repl()
        except (TransportError, serial.SerialException, OSError) as e:
            self._close()
            raise ProvisionError(
                f"the device on {self.device} does not answer like MicroPython ({e}). If this is a "
                "blank Pico, flash MicroPython first: `noxus-provision flash FIRMWARE.uf2`."
            ) from None
        self.exec(_PRELUDE)
        return self

    def _enter_raw_repl(self) -> None:
        # A board that is still booting misses the first Ctrl-C: interrupt again until the
        # raw REPL answers or the timeout is spent.
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self.transport.enter_raw_repl(
                        soft_reset=False, timeout_overall=min(RAW_REPL_TRY_S, max(left, 0.5))
                    )
                return
            except TransportError:
                if time.monotonic() >= deadline:
                    raise

    def __exit__(self, *exc) -> None:
        if self.transport is not None and exc[0] is None:
            try:
                self.transport.exit_raw_repl()
            except (serial.SerialException, OSError):
                pass
        self._close()

    def _close(self) -> None:
        if self.transport is not None:
            try:
                self.transport.close()
            except (serial.SerialException, OSError):
                pass
            self.transport = None

    def exec(self, code: str, timeout: float | None = None) -> bytes:
        try:
            out, err = self.transport.exec_raw(code, timeout=timeout or self.timeout)
        except TransportExecError as e:  # pragma: no cover - exec_raw returns err instead
            raise ProvisionError(f"the board refused a command: {e.error_output.strip()}") from None
        except (TransportError, serial.SerialException, OSError, ValueError, TypeError) as e:
            # pyserial raises TypeError/ValueError when the port vanishes under a read
            raise gone(self.device, e) from None
        if err:
            last = err.decode(errors="replace").strip().splitlines()[-1]
            hint = (
                (
                    ": its memory is fragmented by the program that ran before; unplug and replug it, "
                    "then rerun the same command"
                )
                if "MemoryError" in last
                else ""
            )
            raise ProvisionError(f"the board on {self.device} raised {last}{hint}")
        return out

    def eval(self, expr: str):
        return ast.literal_eval(self.exec(f"print(repr({expr}))").decode().strip())

    def platform(self) -> str:
        return self.eval("sys.platform")

    def unique_id(self) -> str:
        """The flash unique ID in uppercase hex (also the Pico's USB serial number)."""
        return ast.literal_eval(self.exec(_UNIQUE_ID).decode().strip())

    def hashes(self, paths: list[str]) -> dict[str, str | None]:
        """sha256 hex of each board file, None when missing; a few round trips, small
        enough for the heap a kiosk leaves behind when interrupted."""
        out: dict[str, str | None] = {}
        for i in range(0, len(paths), HASH_BATCH):
            out.update(
                self.eval(
                    f"[gc.collect(), {{p: _nx_hash(p) for p in {list(paths[i : i + HASH_BATCH])!r}}}][1]"
                )
            )
        return out

    def read_file(self, path: str) -> bytes | None:
        text = self.exec(
            f"import binascii\ntry:\n f=open({path!r},'rb')\nexcept OSError:\n f=None\n"
            "print(binascii.hexlify(f.read()).decode() if f else '-')\nif f:\n f.close()"
        )
        text = text.decode().strip()
        return None if text == "-" else binascii.unhexlify(text)

    def write_file(self, path: str, data: bytes, progress=None) -> None:
        """Write under PART then rename, so an interrupted copy never looks complete."""
        self.exec(f"_nx_mkdirs({path!r})\ngc.collect()")  # a fresh heap: chunks compile to ~4 KiB
        try:
            self.transport.fs_writefile(path + PART, data, chunk_size=WRITE_CHUNK, progress_callback=progress)
        except TransportExecError as e:
            raise ProvisionError(f"the board could not write {path}: {e.error_output.strip()}") from None
        except (TransportError, serial.SerialException, OSError, ValueError, TypeError) as e:
            raise gone(self.device, e) from None
        self.exec(f"try:\n os.remove({path!r})\nexcept OSError:\n pass\nos.rename({path + PART!r}, {path!r})")

    def remove(self, path: str) -> None:
        self.exec(f"try:\n os.remove({path!r})\nexcept OSError:\n pass")

    def reboot(self) -> None:
        """machine.reset(): the board drops off USB; the port must be reopened."""
        try:
            self.transport.exec_raw_no_follow("import machine\nmachine.reset()")
        except (TransportError, serial.SerialException, OSError, ValueError, TypeError):
            pass  # the reset itself may cut the link before we read the answer
        self._close()
