"""kiosk.json, the one config file on a kiosk (format: docs/provisioning.md)."""

import json

CONFIG_VERSION = 1
CA_FILE = "ca.pem"  # the pinned broker CA beside kiosk.json on a Pico (firmware/core/tls.py)


def build(
    enrolled: dict, port: str, wifi_ssid: str | None, wifi_password: str | None, wifi_country: str = "CH"
) -> dict:
    m = enrolled["mqtt"]
    cfg = {
        "v": CONFIG_VERSION,
        "kiosk_id": enrolled["kiosk_id"],
        "journal_dir": "journal",
        "broker": {
            "host": m["host"],
            "port": m["port"],
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


def redacted(cfg: dict) -> dict:
    """For display: secrets replaced, never printed."""
    out = json.loads(json.dumps(cfg))
    for section, key in (("broker", "password"), ("wifi", "password")):
        if key in out.get(section, {}):
            out[section][key] = "********"
    return out
