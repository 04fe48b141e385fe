# Fake `machine` for running the Pico W port on the MicroPython Unix port.
import sys

import simctl

resets = [0]

with open("hardware/pinmap.json") as _f:
    import json as _json

    CS_PIN = _json.load(_f)["pico_w"]["reader"]["cs"]


class Pin:
    OUT = 1
    IN = 0

    def __init__(self, n, mode=None, value=None):
        self.n = n
        self._v = 0 if value is None else value

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = v
        if self.n == CS_PIN:  # the reader's chip select is wired to the fake chip
            simctl.CHIP.cs.value(v)


class SPI:
    def __init__(self, bus, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None, miso=None):
        self._chip = simctl.CHIP

    def write(self, buf):
        self._chip.write(buf)

    def write_readinto(self, out, into):
        self._chip.write_readinto(out, into)


class I2C:
    def __init__(self, bus, sda=None, scl=None, freq=400000):
        pass

    def scan(self):
        return []  # no display on the simulated board


class RTC:
    def datetime(self, dt=None):
        return dt


class WDT:
    feeds = 0

    def __init__(self, timeout=8000):
        self.timeout = timeout

    def feed(self):
        WDT.feeds += 1


def reset():
    resets[0] += 1
    print("MACHINE RESET")
    sys.exit(3)


def unique_id():
    return b"\x01\x02\x03\x04\x05\x06\x07\x08"
