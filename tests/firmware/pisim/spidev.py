"""Fake spidev: each xfer2 is one chip-select frame to the scripted fake MFRC522."""

import simctl


class SpiDev:
    def __init__(self):
        self.max_speed_hz = 0
        self.mode = 0

    def open(self, bus, device):
        self.bus, self.device = bus, device

    def xfer2(self, data):
        chip = simctl.CHIP
        out = bytes(data)
        into = bytearray(len(out))
        chip.cs.value(0)
        if out[0] & 0x80:
            chip.write_readinto(out, into)
        else:
            chip.write(out)
        chip.cs.value(1)
        return list(into)

    def close(self):
        pass
