"""Install step: generate the secrets NoxusTime must not ship with.

    sudo /opt/noxus/.venv/bin/python deploy/install-secrets.py /etc/noxus/noxus.env

Fills NOXUS_MQTT_PASSWORD in the env file when it is empty (a 192-bit random
password, never printed), writes the backend's account `NOXUS_MQTT_USERNAME` into
the password file named by NOXUS_MQTT_PASSWORD_FILE (Mosquitto's PBKDF2-SHA512
format, written by the backend's own code: the password never appears on a
command line), and leaves the env file mode 640. Creates the backup key file
named by NOXUS_BACKUP_KEY_FILE when it does not exist (mode 640, the env file's
group; copy it off the host: without it no backup restores). Rerunning keeps
existing secrets. docs/deployment.md, "Install"."""

import os
import pathlib
import sys

from noxus.fleet.enrollment_mqtt import PasswordFile, new_password
from noxus.privacy.backup import new_key


def read_env(path: pathlib.Path) -> list[tuple[str, str] | str]:
    out: list[tuple[str, str] | str] = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out.append((key.strip(), value))
        else:
            out.append(line)
    return out


def main(env_path: str, root: str = "") -> list[str]:
    """-> what was done; `root` prefixes the file paths (tests install into a folder)."""
    path = pathlib.Path(root + env_path)
    entries = read_env(path)
    env = {e[0]: e[1] for e in entries if isinstance(e, tuple)}
    done = []
    password = env.get("NOXUS_MQTT_PASSWORD", "")
    if not password:
        password = new_password()
        entries = [
            ("NOXUS_MQTT_PASSWORD", password) if isinstance(e, tuple) and e[0] == "NOXUS_MQTT_PASSWORD" else e
            for e in entries
        ]
        if "NOXUS_MQTT_PASSWORD" not in env:
            entries.append(("NOXUS_MQTT_PASSWORD", password))
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join((f"{e[0]}={e[1]}" if isinstance(e, tuple) else e) + "\n" for e in entries))
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
        done.append(f"generated NOXUS_MQTT_PASSWORD in {env_path}")
    pw_file = env.get("NOXUS_MQTT_PASSWORD_FILE")
    user = env.get("NOXUS_MQTT_USERNAME", "noxus-backend")
    if pw_file:
        store = PasswordFile(root + pw_file)
        if user not in store.users() or done:
            store.set(user, password)
            done.append(f"wrote the account {user} into {pw_file}")
    key_file = env.get("NOXUS_BACKUP_KEY_FILE")
    if key_file and not pathlib.Path(root + key_file).exists():
        kp = pathlib.Path(root + key_file)
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write(new_key() + "\n")
        os.chmod(kp, 0o640)
        os.chown(kp, -1, path.stat().st_gid)  # readable by the services' group, like the env file
        done.append(f"generated a backup key in {key_file}: keep a copy off this host")
    return done


if __name__ == "__main__":
    for line in main(sys.argv[1] if len(sys.argv) > 1 else "/etc/noxus/noxus.env"):
        print(line)
