"""The shipped NATS node configuration (deploy/nats/nats-server.conf) is valid for
the nats-server installed here, and the nodes the cluster tests and the storm
bench run (devstack/nats.py) hold the kiosks' MQTT consumers as production does."""

import pathlib
import re
import shutil
import subprocess

from devstack import nats

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "nats" / "nats-server.conf"
CONSUMER_KEYS = ("consumer_replicas", "consumer_memory_storage")


def settings(text: str) -> dict[str, str]:
    return dict(re.findall(rf"^\s*({'|'.join(CONSUMER_KEYS)}):\s*(\S+)", text, flags=re.M))


def test_the_production_node_config_is_valid_once_given_this_hosts_addresses(tmp_path):
    text = DEPLOY.read_text()
    for i, remote in enumerate(("10.0.0.12:6222", "10.0.0.13:6222")):  # two distinct routes
        text = text.replace(remote, f"127.0.0.1:{16222 + i}")
    text = re.sub(r"10\.0\.0\.1\d", "127.0.0.1", text)
    text = re.sub(r"\n  tls \{.*?\n  \}", "", text, flags=re.S)  # no certificate on this host
    text = text.replace("/var/lib/nats-server", str(tmp_path / "js"))
    assert "tls" not in text.split("mqtt {")[1].split("}")[0]
    conf = tmp_path / "nats-server.conf"
    conf.write_text(text)
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
    # -t parses every option (an unknown or misspelt one is an error) and exits
    r = subprocess.run([exe, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_test_and_bench_nodes_keep_the_kiosks_consumers_like_production():
    production = settings(DEPLOY.read_text())
    assert production == {"consumer_replicas": "1", "consumer_memory_storage": "true"}
    assert settings(nats.CONF) == production
