"""The broker side of enrollment: per-kiosk accounts in Mosquitto's password
file, and waiting for a kiosk's birth message.

The password file holds mosquitto_passwd's own format (`user:$7$101$salt$hash`,
PBKDF2-SHA512, 101 iterations, 12-byte salt): we write it ourselves so a
password never appears on a command line (`mosquitto_passwd -b` would show it in
`ps`). The kiosk's rights come from the ACL's `pattern ... noxus/v1/%u/...` lines
(deploy/mosquitto/noxus.acl): its user name is its kiosk id, so it may only
publish and subscribe under its own noxus/v1/<kiosk_id>/."""

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import pathlib
import secrets
import shlex
import subprocess
import threading

import paho.mqtt.client as mqtt

from firmware.core import protocol
from noxus.core import tls
from noxus.core.settings import Settings

ITERATIONS = 101  # what mosquitto_passwd 2.x writes
SALT_BYTES = 12
PASSWORD_BYTES = 24  # 192 bits, url-safe: fits any config file or MQTT client


class BrokerConfigError(RuntimeError):
    """Minting is not set up on this backend; the message says which setting."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


class PasswordFile:
    """Set or remove one user's line; the file is locked and replaced atomically."""

    def __init__(self, path: str | os.PathLike, reload_command: str | None = None):
        self.path = pathlib.Path(path)
        self.reload_command = reload_command

    @classmethod
    def from_settings(cls, settings: Settings) -> "PasswordFile":
        if not settings.mqtt_password_file:
            raise BrokerConfigError(
                "kiosk MQTT accounts cannot be created: set NOXUS_MQTT_PASSWORD_FILE to Mosquitto's "
                "password_file (and NOXUS_MQTT_RELOAD_COMMAND), see docs/provisioning.md"
            )
        return cls(settings.mqtt_password_file, settings.mqtt_reload_command)

    def _rewrite(self, username: str, line: str | None) -> None:
        if ":" in username or "\n" in username:
            raise ValueError(f"MQTT user name {username!r} may not hold ':' or a newline")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            lines = self.path.read_text().splitlines() if self.path.exists() else []
            kept = [ln for ln in lines if ln.split(":", 1)[0] != username]
            if line is not None:
                kept.append(line)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(ln + "\n" for ln in kept))
            if self.path.exists():
                st = self.path.stat()
                os.chmod(tmp, st.st_mode & 0o777)
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    pass
            else:
                os.chmod(tmp, 0o640)
            os.replace(tmp, self.path)
        self.reload()

    def set(self, username: str, password: str) -> None:
        self._rewrite(username, f"{username}:{hash_password(password)}")

    def remove(self, username: str) -> None:
        self._rewrite(username, None)

    def users(self) -> list[str]:
        if not self.path.exists():
            return []
        return [ln.split(":", 1)[0] for ln in self.path.read_text().splitlines() if ":" in ln]

    def reload(self) -> None:
        if not self.reload_command:
            return
        done = subprocess.run(
            shlex.split(self.reload_command), capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise BrokerConfigError(
                f"`{self.reload_command}` failed ({done.returncode}): "
                f"{done.stderr.strip()[:200]}; Mosquitto still has the old accounts"
            )


async def wait_for_birth(
    settings: Settings, kiosk_id: str, not_boot: int | None, timeout: float
) -> dict | None:
    """The kiosk's state message once it says online with a boot number other than
    `not_boot` (the boot seen before the reboot); None after `timeout` seconds.
    Reads the retained message too, so a kiosk that came up before we asked counts."""
    return await _watch_async(
        settings,
        kiosk_id,
        protocol.STATE,
        timeout,
        _state_if(kiosk_id, lambda s: s["online"] and (not_boot is None or s.get("boot") != not_boot)),
    )


def current_state(settings: Settings, kiosk_id: str, wait: float = 1.0) -> dict | None:
    """The retained state message (birth or will), if one arrives within `wait` seconds."""
    return _watch(settings, kiosk_id, protocol.STATE, wait, _state_if(kiosk_id, lambda s: True))


def _state_if(kiosk_id, accept):
    def pick(msg):
        state, err = protocol.decode_state(msg.payload, kiosk_id)
        return state if not err and accept(state) else None

    return pick


def _enroll_tap_watch(kiosk_id: str, timeout: float):
    """(pick, on_subscribed) for the next enrollment tap: the command goes out only once we are
    subscribed, so a quick tap cannot slip between the two."""
    command = {
        "id": "enr-" + secrets.token_hex(4),
        "cmd": "enrollment_mode",
        "args": {"taps": 1, "timeout_s": int(timeout)},
    }

    def pick(msg):
        if msg.retain:
            return None
        batch, err = protocol.decode_punch_batch(msg.payload, kiosk_id)
        if err:
            return None
        for p in batch.punches:
            if p.kind == protocol.KIND_ENROLL:
                return {"uid": p.uid}
        return None

    def on_subscribed(client):
        client.publish(
            protocol.topic(kiosk_id, protocol.CMD), protocol.encode_message(kiosk_id, command), qos=1
        )

    return pick, on_subscribed


async def wait_for_enroll_tap(settings: Settings, kiosk_id: str, timeout: float) -> str | None:
    """Put the kiosk in enrollment mode and return the UID of the next enrollment tap
    (a punch of kind "enroll") it sends; None after `timeout` seconds."""
    pick, on_subscribed = _enroll_tap_watch(kiosk_id, timeout)
    found = await _watch_async(settings, kiosk_id, protocol.PUNCH, timeout, pick, on_subscribed)
    return found["uid"] if found else None


def _client(settings: Settings, client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    tls.configure_mqtt(client, settings)
    return client


class _Watch:
    """A subscription to one of the kiosk's topics, connected at once; `signal` is called (from
    paho's network thread) when `pick` turned a message into a dict or the broker refused us."""

    def __init__(self, settings: Settings, kiosk_id: str, leaf: str, pick, on_subscribed, signal) -> None:
        self.found: dict = {}
        self.refused: list[str] = []
        self._done = threading.Event()
        topic = protocol.topic(kiosk_id, leaf)

        def finish():
            if not self._done.is_set():
                self._done.set()
                signal()

        def on_connect(client, _u, _f, reason, _p):
            if reason.is_failure:
                self.refused.append(str(reason))
                finish()
            else:
                client.subscribe(topic, 1)

        def on_message(_c, _u, msg):
            value = pick(msg)
            if value is not None and not self._done.is_set():
                self.found.update(value)
                finish()

        def on_subscribe(client, _u, _mid, _codes, _p):
            if on_subscribed is not None:
                on_subscribed(client)

        self.client = client = _client(settings, f"noxus-enroll-{kiosk_id}-{secrets.token_hex(3)}")
        client.on_subscribe = on_subscribe
        client.on_connect, client.on_message = on_connect, on_message
        try:
            client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
        except OSError as e:  # ssl.SSLError too: a certificate the backend does not trust
            raise BrokerConfigError(
                f"the backend cannot reach the broker at {settings.mqtt_host}:{settings.mqtt_port} ({e})"
            ) from None
        client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def result(self) -> dict | None:
        if self.refused:
            raise BrokerConfigError(
                f"the broker refused the backend's MQTT account ({self.refused[0]}): "
                "check NOXUS_MQTT_USERNAME / NOXUS_MQTT_PASSWORD"
            )
        return dict(self.found) if self.found else None


def _watch(
    settings: Settings, kiosk_id: str, leaf: str, timeout: float, pick, on_subscribed=None
) -> dict | None:
    """Subscribe to one of the kiosk's topics; the first message `pick` turns into a dict."""
    event = threading.Event()
    w = _Watch(settings, kiosk_id, leaf, pick, on_subscribed, event.set)
    try:
        event.wait(max(0.0, timeout))
    finally:
        w.close()
    return w.result()


async def _watch_async(
    settings: Settings, kiosk_id: str, leaf: str, timeout: float, pick, on_subscribed=None
) -> dict | None:
    """_watch for the long polls of async routes: the wait is an asyncio event, so an open poll
    holds no thread of the server's worker pool (only paho's own network thread); connecting
    and disconnecting, which block briefly, borrow a pool thread for that moment."""
    import anyio.to_thread

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    w = await anyio.to_thread.run_sync(
        lambda: _Watch(
            settings, kiosk_id, leaf, pick, on_subscribed, lambda: loop.call_soon_threadsafe(done.set)
        )
    )
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(0.0, timeout))
    finally:
        await anyio.to_thread.run_sync(w.close)
    return w.result()
