"""Entry for the simulated Raspberry Pi: the real firmware/ports/pi code on
CPython with fake spidev/RPi.GPIO and the scripted badge field (simctl)."""

import simctl

from firmware.ports.pi import main

k = main.run("kiosk.json", done=simctl.drained)
simctl.report(k)
k.link.stop()
