"""Render hardware/wiring.md from hardware/pinmap.json (the ports read the JSON;
people read the Markdown). `python hardware/render.py` rewrites it; a test
checks that it is up to date."""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent

# Module pin -> (Pico W header pin for a GPn, Pi header pin for a BCM n)
PICO_PHYS = {0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15, 12: 16, 13: 17,
             14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27, 22: 29, 26: 31, 27: 32, 28: 34}
PI_PHYS = {2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 8: 24, 7: 26, 5: 29, 6: 31,
           12: 32, 13: 33, 19: 35, 16: 36, 26: 37, 20: 38, 21: 40, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22}


def rows(board, pm, phys, prefix):
    r, d = pm["reader"], pm.get("display") or {}
    out = [
        ("MFRC522", "SDA (chip select)", r["cs"]), ("MFRC522", "SCK", r["sck"]), ("MFRC522", "MOSI", r["mosi"]),
        ("MFRC522", "MISO", r["miso"]), ("MFRC522", "RST", r["rst"]),
        ("LED green (+ 330 Ω)", "anode", pm["led_green"]), ("LED red (+ 330 Ω)", "anode", pm["led_red"]),
        ("Buzzer (via NPN, 1 kΩ base)", "base resistor", pm["buzzer"]),
    ]
    if d:
        out += [("SSD1306 (optional)", "SDA", d["sda"]), ("SSD1306 (optional)", "SCL", d["scl"])]
    n = pm.get("network") or {}
    if n.get("chip") == "W5500":  # on the board itself: listed so nothing else is wired there
        out += [("W5500 (on board)", sig, n[k]) for sig, k in
                (("SCSn", "cs"), ("SCLK", "sck"), ("MOSI", "mosi"), ("MISO", "miso"), ("RSTn", "rst"),
                 ("INTn", "int"))]
    lines = [f"| part | signal | {board} GPIO | header pin |", "|---|---|---|---|"]
    for part, sig, n in out:
        lines.append(f"| {part} | {sig} | {prefix}{n} | {phys.get(n, '?')} |")
    return lines


def render():
    pm = json.loads((HERE / "pinmap.json").read_text())
    pico, pi = pm["pico_w"], pm["pi"]
    text = ["# Wiring", "", "Generated from `hardware/pinmap.json` by `python hardware/render.py`: edit the JSON,",
            "not this file. The firmware ports read the same JSON, so the board and the code cannot disagree.",
            "", "Power: MFRC522 and SSD1306 on **3.3 V** (the MFRC522 is not 5 V tolerant), GND common. "
            "The MFRC522 IRQ pin stays unconnected (the driver polls).", "",
            f"## Raspberry Pi Pico W (SPI{pico['reader']['spi']} at {pico['reader']['baudrate'] // 1000000} MHz, "
            f"I2C{pico['display']['i2c']} at 400 kHz)", ""]
    text += rows("Pico W", pico, PICO_PHYS, "GP")
    text += ["", "3V3(OUT) = header pin 36, GND = pin 38 (or any GND).", ""]
    wiz = pm.get("w5500_evb_pico")
    if wiz:
        text += [f"## WIZnet W5500-EVB-Pico (wired Ethernet; reader on SPI{wiz['reader']['spi']})", "",
                 ("Same Pico footprint and header pins as the Pico W. GP16-GP21 carry the on-board W5500 "
                  f"(SPI{wiz['network']['spi']}), so the reader moves to SPI{wiz['reader']['spi']}; LEDs, "
                  "buzzer and display stay where they are."), ""]
        text += rows("EVB-Pico", wiz, PICO_PHYS, "GP") + [""]
    text += [f"## Raspberry Pi (spidev {pi['reader']['spidev']}, I2C{pi['display']['i2c']})", ""]
    text += rows("BCM", pi, PI_PHYS, "BCM")
    text += ["", "3V3 = header pin 1, GND = pin 6. Enable SPI and I2C with `raspi-config`.", "",
             "## Diagram (Pico W)", "", "```",
             "            +-----------------+            MFRC522 (RC522 module)",
             f" GP{pico['reader']['miso']:<2} (21) <-|                 |<- MISO",
             f" GP{pico['reader']['cs']:<2} (22) ->|    Pico W       |-> SDA(CS)",
             f" GP{pico['reader']['sck']:<2} (24) ->|                 |-> SCK",
             f" GP{pico['reader']['mosi']:<2} (25) ->|                 |-> MOSI",
             f" GP{pico['reader']['rst']:<2} (26) ->|                 |-> RST",
             " 3V3  (36) --|                 |-- 3.3V, GND -- GND",
             f" GP{pico['led_green']:<2} (19) --[330R]--|>|-- GND   green LED",
             f" GP{pico['led_red']:<2} (20) --[330R]--|>|-- GND   red LED",
             f" GP{pico['buzzer']:<2} (17) --[1k]-- B  NPN (BC547)  C -- buzzer(-), buzzer(+) -- VBUS 5 V; E -- GND",
             f" GP{pico['display']['sda']:<2} (6) / GP{pico['display']['scl']} (7) -- SDA / SCL  SSD1306 128x64 "
             f"(0x{pico['display']['addr']:02X}), 3.3 V",
             "```", ""]
    return "\n".join(text)


if __name__ == "__main__":
    (HERE / "wiring.md").write_text(render())
