"""hardware/pinmap.json is what the ports read; hardware/wiring.md is rendered from it."""

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_wiring_doc_is_rendered_from_the_current_pin_map():
    sys.path.insert(0, str(REPO / "hardware"))
    import render

    assert (REPO / "hardware" / "wiring.md").read_text() == render.render(), (
        "hardware/wiring.md is stale: run python hardware/render.py"
    )


def test_pin_map_has_every_pin_the_ports_use_and_no_pin_twice():
    pm = json.loads((REPO / "hardware" / "pinmap.json").read_text())
    for board in ("pico_w", "w5500_evb_pico", "pi"):
        b = pm[board]
        r = b["reader"]
        pins = [
            r["sck"],
            r["mosi"],
            r["miso"],
            r["cs"],
            r["rst"],
            b["led_green"],
            b["led_red"],
            b["buzzer"],
            b["display"]["sda"],
            b["display"]["scl"],
        ]
        n = b.get("network") or {}
        pins += [n[k] for k in ("sck", "mosi", "miso", "cs", "rst", "int") if k in n]
        assert len(set(pins)) == len(pins), f"{board}: a pin is used twice: {pins}"
    # The Pico's SPI0/I2C0 functions live on these pins only (RP2040 datasheet, GPIO functions).
    p = pm["pico_w"]
    assert (
        p["reader"]["spi"] == 0
        and p["reader"]["sck"] in (2, 6, 18, 22)
        and p["reader"]["miso"] in (0, 4, 16, 20)
    )
    assert p["display"]["i2c"] == 0 and p["display"]["sda"] in (0, 4, 8, 12, 16, 20)


def test_wired_variant_keeps_the_w5500_on_its_board_pins_and_the_reader_on_spi1():
    pm = json.loads((REPO / "hardware" / "pinmap.json").read_text())
    w = pm["w5500_evb_pico"]
    # WIZnet W5500-EVB-Pico schematic (= MicroPython's W5500_EVB_PICO board config)
    assert w["network"] == {
        **w["network"],
        "chip": "W5500",
        "spi": 0,
        "sck": 18,
        "mosi": 19,
        "miso": 16,
        "cs": 17,
        "rst": 20,
        "int": 21,
    }
    r = w["reader"]  # SPI1 functions: SCK 10/14, TX 11/15, RX 8/12
    assert r["spi"] == 1 and r["sck"] in (10, 14) and r["mosi"] in (11, 15) and r["miso"] in (8, 12)
    assert pm["pico_w"]["network"]["chip"] == "CYW43"
