"""kiosk.json, the one config file on a kiosk (format: docs/provisioning.md)."""

import json

from noxus_provision.errors import ProvisionError

CONFIG_VERSION = 1
CA_FILE = "ca.pem"  # the pinned broker CA beside kiosk.json on a Pico (firmware/core/tls.py)


Node = tuple[str, int | None]  # a broker as the technician gave it: host, port (None: the backend's)


def parse_brokers(values: list[str] | None) -> list[Node]:
    """`--broker mq1.example:8883 --broker mq2.example` -> [("mq1.example", 8883), ("mq2.example", None)]."""
    nodes: list[Node] = []
    for value in values or []:
        host, sep, port = value.strip().rpartition(":")
        if not sep:
            host, port = port, ""
        if not host or ":" in host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            raise ProvisionError(
                f"--broker {value!r} is not HOST or HOST:PORT (a name or an IPv4 address, "
                "e.g. mq1.noxus.example:8883): repeat --broker once per node"
            )
        nodes.append((host, int(port) if port else None))
    return nodes


def nodes_of(enrolled: dict, brokers: list[Node] | None = None) -> list[tuple[str, int]]:
    """The brokers the kiosk dials: the technician's --broker list if given (a port left out
    is the backend's), else the backend's cluster nodes, else its one host."""
    m = enrolled["mqtt"]
    if brokers:
        return [(h, m["port"] if p is None else p) for h, p in brokers]
    return [(n["host"], n["port"]) for n in m.get("nodes") or []] or [(m["host"], m["port"])]


def build(
    enrolled: dict,
    port: str,
    wifi_ssid: str | None,
    wifi_password: str | None,
    wifi_country: str = "CH",
    brokers: list[Node] | None = None,
) -> dict:
    m = enrolled["mqtt"]
    nodes = nodes_of(enrolled, brokers)
    cfg = {
        "v": CONFIG_VERSION,
        "kiosk_id": enrolled["kiosk_id"],
        "journal_dir": "journal",
        "broker": {
            # with several nodes the firmware reads "nodes" and ignores "host" (docs/protocol.md);
            # "host" stays, the first node, for a firmware older than the node list
            "host": nodes[0][0],
            "port": nodes[0][1],
            "tls": m["tls"],
            "username": m["username"],
            "password": m["password"],
        },
        "site": {
            "id": enrolled["site_id"],
            "customer_id": enrolled["customer_id"],
            "timezone": enrolled["site_timezone"],
        },
    }
    if len(nodes) > 1:
        cfg["broker"]["nodes"] = [{"host": h, "port": p} for h, p in nodes]
    if m.get("tls"):
        if port == "pi":  # one file to install on a Pi: the CA goes inline
            cfg["broker"]["ca_pem"] = m["ca_pem"]
        else:
            cfg["broker"]["ca_file"] = CA_FILE
        if m.get("server_hostname"):
            cfg["broker"]["server_hostname"] = m["server_hostname"]
    if wifi_ssid:
        cfg["wifi"] = {"ssid": wifi_ssid, "password": wifi_password or "", "country": wifi_country}
    if port == "pico":
        cfg["pinmap"] = "hardware/pinmap.json"
    if port == "sim":
        cfg["sim"] = {"taps": 0, "quiet": True}  # a simulated kiosk that waits for taps forever
    return cfg


def dumps(cfg: dict) -> bytes:
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def describe(cfg: dict) -> str:
    """ "broker mq1:8883" or "brokers mq1:8883, mq2:8883" (for what the technician reads)."""
    b = cfg["broker"]
    nodes = b.get("nodes") or [b]
    return ("brokers " if len(nodes) > 1 else "broker ") + ", ".join(
        f"{n['host']}:{n['port']}" for n in nodes
    )


def redacted(cfg: dict) -> dict:
    """For display: secrets replaced, never printed."""
    out = json.loads(json.dumps(cfg))
    for section, key in (("broker", "password"), ("wifi", "password")):
        if key in out.get(section, {}):
            out[section][key] = "********"
    return out
