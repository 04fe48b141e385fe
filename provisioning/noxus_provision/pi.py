"""`pi install`: a Raspberry Pi kiosk, locally or over SSH, laid out as the
firmware's own unit expects (firmware/ports/pi/noxus-kiosk.service): the
firmware (core + pi port + pin map) under /opt/noxus, a venv /opt/noxus/.venv
with the kiosk's dependencies, /etc/noxus/kiosk.json (mode 600), the `noxus`
system user and the unit. Each step checks before it acts, so a rerun only
redoes what is missing or different."""

import hashlib
import importlib.metadata
import pathlib
import shlex
import subprocess

from noxus_provision.errors import ProvisionError
from noxus_provision.fileset import REPO

APP = "/opt/noxus"  # the unit's WorkingDirectory: `python -m firmware.ports.pi.main` finds the package
VENV = "/opt/noxus/.venv"
CONFIG = "/etc/noxus/kiosk.json"
DATA_DIR = "/var/lib/noxus-kiosk"  # the unit's StateDirectory
UNIT_PATH = "/etc/systemd/system/noxus-kiosk.service"
UNIT_SOURCE = REPO / "firmware" / "ports" / "pi" / "noxus-kiosk.service"
USER, GROUPS = "noxus", "gpio,spi,i2c"


class LocalRunner:
    """This machine; `root` prefixes every path (tests install into a folder)."""

    def __init__(self, root: pathlib.Path = pathlib.Path("/")):
        self.root = pathlib.Path(root)

    def path(self, p: str) -> pathlib.Path:
        return self.root / p.lstrip("/")

    def read(self, p: str) -> bytes | None:
        try:
            return self.path(p).read_bytes()
        except OSError:
            return None

    def write(self, p: str, data: bytes, mode: int = 0o644) -> None:
        target = self.path(p)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.chmod(mode)
        tmp.replace(target)

    def exists(self, p: str) -> bool:
        return self.path(p).exists()

    def run(self, argv: list[str]) -> str:
        argv = [str(self.path(a)) if a.startswith(("/opt/", "/etc/", "/var/")) else a for a in argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode:
            raise ProvisionError(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-300:]}")
        return done.stdout

    def ok(self, argv: list[str]) -> bool:
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0


class SshRunner:
    """Over `ssh HOST` (keys or agent; we never handle the Pi's password)."""

    def __init__(self, host: str):
        self.host = host

    def _ssh(self, command: str, data: bytes | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                ["ssh", "-o", "BatchMode=yes", self.host, command],
                input=data,
                capture_output=True,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ProvisionError(f"ssh {self.host} timed out: check the Pi is on the network") from None

    def read(self, p: str) -> bytes | None:
        done = self._ssh(f"cat {shlex.quote(p)} 2>/dev/null")
        return done.stdout if done.returncode == 0 else None

    def write(self, p: str, data: bytes, mode: int = 0o644) -> None:
        q, tmp = shlex.quote(p), shlex.quote(p + ".part")
        done = self._ssh(
            f"sudo mkdir -p $(dirname {q}) && sudo sh -c 'umask 077; cat > {tmp}' && "
            f"sudo chmod {mode:o} {tmp} && sudo mv {tmp} {q}",
            data,
        )
        if done.returncode:
            raise ProvisionError(f"writing {p} on {self.host} failed: {done.stderr.decode()[-300:]}")

    def exists(self, p: str) -> bool:
        return self._ssh(f"test -e {shlex.quote(p)}").returncode == 0

    def ok(self, argv: list[str]) -> bool:
        return self._ssh(" ".join(shlex.quote(a) for a in argv)).returncode == 0

    def run(self, argv: list[str]) -> str:
        done = self._ssh("sudo " + " ".join(shlex.quote(a) for a in argv))
        if done.returncode:
            raise ProvisionError(f"`{' '.join(argv)}` on {self.host} failed: {done.stderr.decode()[-300:]}")
        return done.stdout.decode()


def board_serial(runner) -> str:
    """The Pi's serial number (its unique ID in the asset register)."""
    for line in (runner.read("/proc/cpuinfo") or b"").decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Serial" and value.strip().strip("0"):
            return value.strip().upper()
    dt = runner.read("/sys/firmware/devicetree/base/serial-number")
    if dt and dt.strip(b"\0").strip():
        return dt.strip(b"\0").strip().decode().upper()
    raise ProvisionError(
        "cannot read this machine's serial number (/proc/cpuinfo has no Serial): is it a "
        "Raspberry Pi? Pass --config with a kiosk.json made elsewhere instead"
    )


def kiosk_config(enrolled: dict, brokers: list | None = None) -> bytes:
    """kiosk.json for the Pi port (docs/firmware.md): no Wi-Fi (the OS has the network);
    `brokers` (kioskconfig.parse_brokers) instead of the backend's list."""
    from noxus_provision import kioskconfig

    cfg = kioskconfig.build(enrolled, "pi", None, None, brokers=brokers)
    del cfg["journal_dir"]
    cfg.update(data_dir=DATA_DIR, pinmap=f"{APP}/hardware/pinmap.json", firmware_hash=app_tree_hash())
    return kioskconfig.dumps(cfg)


def app_tree_hash() -> str:
    from noxus_provision.fileset import BoardFile, tree_hash

    return tree_hash([BoardFile(p[len(APP) + 1 :], d) for p, d in app_files().items()])


def app_files(repo: pathlib.Path = REPO) -> dict[str, bytes]:
    files = {}
    sources = [repo / "firmware" / "__init__.py", repo / "firmware" / "ports" / "__init__.py"]
    for tree in (repo / "firmware" / "core", repo / "firmware" / "ports" / "pi"):
        sources += sorted(p for p in tree.rglob("*.py") if "__pycache__" not in p.parts)
    for src in sources:
        files[f"{APP}/{src.relative_to(repo).as_posix()}"] = src.read_bytes()
    pinmap = repo / "hardware" / "pinmap.json"
    if pinmap.exists():
        files[f"{APP}/hardware/pinmap.json"] = pinmap.read_bytes()
    return files


def _same(runner, path: str, data: bytes) -> bool:
    old = runner.read(path)
    return old is not None and hashlib.sha256(old).digest() == hashlib.sha256(data).digest()


def requirements() -> list[str]:
    """The kiosk's third-party packages: the MQTT client pinned to what this laptop tested
    with, and the Pi's SPI and GPIO bindings (firmware/ports/pi/hw.py)."""
    return [f"chumicro-mqtt=={importlib.metadata.version('chumicro-mqtt')}", "spidev", "RPi.GPIO"]


def install(runner, config: pathlib.Path | bytes | None, systemd: bool = True, pip: bool = True):
    """Yields (step, changed) as it goes. `config`: a kiosk.json file or its bytes."""
    changed_any = False
    files = app_files()
    todo = {p: d for p, d in files.items() if not _same(runner, p, d)}
    for p, d in todo.items():
        runner.write(p, d)
    yield f"firmware in {APP} ({len(todo)} of {len(files)} files written)", bool(todo)
    changed_any |= bool(todo)

    if runner.exists(f"{VENV}/bin/python"):
        yield f"venv {VENV}", False
    else:
        runner.run(["python3", "-m", "venv", *([] if pip else ["--without-pip"]), VENV])
        yield f"venv {VENV}", True
    if pip:
        wanted = requirements()
        have = {
            h.lower().split("==")[0]: h.lower() for h in runner.run([f"{VENV}/bin/pip", "freeze"]).split()
        }
        missing = [
            r
            for r in wanted
            if (r.lower() not in have.values() if "==" in r else r.lower().replace("_", "-") not in have)
        ]
        if missing:
            runner.run([f"{VENV}/bin/pip", "install", "-q", *missing])
        yield "dependencies " + ", ".join(wanted), bool(missing)

    if config is not None:
        data = config if isinstance(config, bytes) else config.read_bytes()
        same = _same(runner, CONFIG, data)
        if not same:
            runner.write(CONFIG, data, mode=0o600)
        changed_any |= not same
        yield f"config {CONFIG} (mode 600)", not same

    unit = UNIT_SOURCE.read_bytes()
    same = _same(runner, UNIT_PATH, unit)
    if not same:
        runner.write(UNIT_PATH, unit)
    changed_any |= not same
    yield f"systemd unit {UNIT_PATH}", not same

    if systemd:
        if runner.ok(["id", "-u", USER]):
            yield f"system user {USER}", False
        else:
            runner.run(
                [
                    "useradd",
                    "--system",
                    "--home-dir",
                    APP,
                    "--shell",
                    "/usr/sbin/nologin",
                    "--groups",
                    GROUPS,
                    USER,
                ]
            )
            yield f"system user {USER} (groups {GROUPS})", True
        runner.run(["systemctl", "daemon-reload"])
        runner.run(["systemctl", "enable", "noxus-kiosk.service"])
        runner.run(["systemctl", "restart" if changed_any else "start", "noxus-kiosk.service"])
        yield "service noxus-kiosk " + ("restarted" if changed_any else "running"), changed_any
