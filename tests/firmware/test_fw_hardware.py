"""hardware/pinmap.json is what the ports read; hardware/wiring.md is rendered from it."""

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_wiring_doc_is_rendered_from_the_current_pin_map():
    sys.path.insert(0, str(REPO / "hardware"))
    import render
    assert (REPO / "hardware" / "wiring.md").read_text() == render.render(), \
        "hardware/wiring.md is stale: run python hardware/render.py"


def test_pin_map_has_every_pin_the_ports_use_and_no_pin_twice():
    pm = json.loads((REPO / "hardware" / "pinmap.json").read_text())
    for board in ("pico_w", "pi"):
        b = pm[board]
        r = b["reader"]
        pins = [r["sck"], r["mosi"], r["miso"], r["cs"], r["rst"], b["led_green"], b["led_red"], b["buzzer"],
                b["display"]["sda"], b["display"]["scl"]]
        assert len(set(pins)) == len(pins), f"{board}: a pin is used twice: {pins}"
    # The Pico's SPI0/I2C0 functions live on these pins only (RP2040 datasheet, GPIO functions).
    p = pm["pico_w"]
    assert p["reader"]["spi"] == 0 and p["reader"]["sck"] in (2, 6, 18, 22) and p["reader"]["miso"] in (0, 4, 16, 20)
    assert p["display"]["i2c"] == 0 and p["display"]["sda"] in (0, 4, 8, 12, 16, 20)
