"""The shipped deploy files let enrollment work under the API unit's sandbox: the API
runs in a private mount namespace (`unshare -m` as root; as any other user inside an
unprivileged user namespace, `unshare -U -r -m`) where / is read-only except the
unit's ReadWritePaths (ProtectSystem=strict emulated), with the env file's own
settings, and enrolls a kiosk; Mosquitto, reloaded as noxus-mosquitto-reload.path
does, then accepts the kiosk's new account. No default password is shipped: the
install step generates it."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys

import httpx
import paho.mqtt.client as mqtt
import pytest
from noxus.fleet.enrollment_mqtt import PasswordFile

from devstack.broker import free_port, wait_port
from tests.provisioning.conftest import AclMosquitto

REPO = pathlib.Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"


def _sandbox() -> tuple[list[str], str]:
    """The `unshare` prefix of a private mount namespace in which this user may remount /
    read-only, or [] and why not: root's own privilege first, else (any other user, or a
    root without CAP_SYS_ADMIN) a user namespace of its own with uid 0 mapped to itself."""
    if not shutil.which("unshare"):
        return [], "unshare (util-linux) is missing"
    userns = ["unshare", "-U", "-r", "-m", "--propagation", "private"]
    tries = ([["unshare", "-m", "--propagation", "private"]] if os.geteuid() == 0 else []) + [userns]
    why = []
    for prefix in tries:
        probe = subprocess.run(
            [*prefix, "sh", "-c", "mount -o remount,bind,ro /"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return prefix, ""
        why.append(f"`{' '.join(prefix)}`: {probe.stderr.strip()}")
    return [], "; ".join(why)


def unit_values(name: str, key: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in (SYSTEMD / name).read_text().splitlines()
        if line.startswith(key + "=")
    ]


def env_file() -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in (SYSTEMD / "noxus.env").read_text().splitlines()
        if line and not line.startswith("#")
    )


def test_no_default_password_is_shipped_and_the_install_step_generates_one(tmp_path):
    assert env_file()["NOXUS_MQTT_PASSWORD"] == ""
    sys.path.insert(0, str(REPO / "deploy"))
    install = __import__("install-secrets")
    (tmp_path / "etc" / "noxus").mkdir(parents=True)
    shutil.copy(SYSTEMD / "noxus.env", tmp_path / "etc" / "noxus" / "noxus.env")
    done = install.main("/etc/noxus/noxus.env", root=str(tmp_path))
    env = dict(
        line.split("=", 1)
        for line in (tmp_path / "etc/noxus/noxus.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert len(env["NOXUS_MQTT_PASSWORD"]) >= 32 and len(done) == 3
    assert oct((tmp_path / "etc/noxus/noxus.env").stat().st_mode & 0o777) == "0o640"
    from noxus.privacy import backup

    key_file = tmp_path / env["NOXUS_BACKUP_KEY_FILE"].lstrip("/")
    assert (
        oct(key_file.stat().st_mode & 0o777) == "0o640" and len(backup.parse_key(key_file.read_text())) == 32
    )
    store = PasswordFile(str(tmp_path) + env["NOXUS_MQTT_PASSWORD_FILE"])
    assert store.users() == ["noxus-backend"]
    assert install.main("/etc/noxus/noxus.env", root=str(tmp_path)) == []  # a rerun keeps the secrets


def test_api_enrolls_a_kiosk_under_the_units_filesystem_restrictions(tmp_path):
    unshare, why = _sandbox()
    if not unshare:
        pytest.skip(f"the sandbox emulation needs a private mount namespace: {why}")
    assert unit_values("noxus-api.service", "ProtectSystem") == ["strict"]
    rw_paths = unit_values("noxus-api.service", "ReadWritePaths")[0].split()
    env = env_file()
    pw_file = env["NOXUS_MQTT_PASSWORD_FILE"]
    state = next(p for p in rw_paths if pw_file.startswith(p + "/"))  # the file lies in a writable path
    assert not env.get("NOXUS_MQTT_RELOAD_COMMAND")  # the path unit reloads, the API needs no privilege
    assert unit_values("noxus-mosquitto-reload.path", "PathChanged") == [pw_file]

    # the unit's state directory, here; everything else read-only
    root = tmp_path / "state"
    local_pw = root / pw_file[len(state) + 1 :]
    local_pw.parent.mkdir(parents=True)
    broker = AclMosquitto(local_pw.parent)
    broker.start()
    api = None
    try:
        from tests.provisioning.conftest import BACKEND_PASSWORD, BACKEND_USER, BackendProc

        seed = BackendProc.__new__(BackendProc)  # the same seed data as the e2e backend, without starting it
        db = root / "noxus.db"
        token, site = _seed(seed, db)
        port = free_port()
        api_env = {
            **os.environ,
            "NOXUS_DATABASE_URL": f"sqlite:///{db}",
            "NOXUS_MQTT_HOST": "127.0.0.1",
            "NOXUS_MQTT_PORT": str(broker.port),
            "NOXUS_MQTT_USERNAME": BACKEND_USER,
            "NOXUS_MQTT_PASSWORD": BACKEND_PASSWORD,
            "NOXUS_MQTT_PASSWORD_FILE": str(local_pw),
            "NOXUS_KIOSK_MQTT_HOST": "127.0.0.1",
            "NOXUS_KIOSK_MQTT_PORT": str(broker.port),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        api_env.pop("NOXUS_MQTT_RELOAD_COMMAND", None)
        outside = tmp_path / "outside"
        sandbox = (
            # the state directory a mount of its own first, so that it stays writable under
            # the read-only / (a non-recursive `mount --bind / /` is refused in a user
            # namespace: it would uncover what the parent's submounts hide)
            f"mount --bind {root} {root} && mount -o remount,bind,ro / && "
            f"(touch {outside} 2>/dev/null; touch {root}/probe) && "
            f"exec {sys.executable} -m uvicorn noxus.main:app --host 127.0.0.1 --port {port} "
            "--log-level warning"
        )
        api = subprocess.Popen([*unshare, "sh", "-c", sandbox], env=api_env, cwd=root)
        wait_port(port, 30)
        # the sandbox holds: nothing written outside the state directory, inside it yes
        assert not outside.exists() and (root / "probe").exists()
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/enrollment/kiosks",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
            json={"board_uid": "E6614103E7452D2F", "site_id": site, "model": "sim"},
        )
        assert r.status_code == 200, r.text
        creds = r.json()["mqtt"]
        assert creds["username"] in PasswordFile(local_pw).users()
        broker.proc.send_signal(signal.SIGHUP)  # what noxus-mosquitto-reload.service does
        assert _connects(broker.port, creds["username"], creds["password"]) == "Success"
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        broker.stop()


def _seed(_unused, db: pathlib.Path) -> tuple[str, int]:
    from noxus.core import accounts
    from noxus.core.db import make_engine
    from noxus.core.migrate import upgrade
    from noxus.core.users import UserCreate
    from noxus.tenancy.models import Customer, Site
    from sqlmodel import Session

    url = f"sqlite:///{db}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        c = Customer(name="Boulangerie A")
        s.add(c)
        s.flush()
        site = Site(customer_id=c.id, name="Atelier")
        s.add(site)
        tech = accounts.create_user(s, UserCreate(username="tech", role="technician"))
        _, token = accounts.create_token(s, tech, "test")
        s.commit()
        site_id = site.id
    engine.dispose()
    return token, site_id


def _connects(port: int, user: str, password: str) -> str:
    import threading

    done, got = threading.Event(), []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="kiosk-" + user)
    c.username_pw_set(user, password)
    c.on_connect = lambda _c, _u, _f, reason, _p: (got.append(str(reason)), done.set())
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        assert done.wait(30)  # safety net
    finally:
        c.disconnect()
        c.loop_stop()
    return got[0]
