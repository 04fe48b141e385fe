# The Pico W's `network` module, stubbed at its boundary for the emulated
# RP2040 (rp2040js has no CYW43 radio): a WLAN that never joins (and a
# WIZNET5K whose cable is unplugged, for the wired variant), so the real
# Pico program runs offline. Put on the image only by the emulator tests.
STA_IF = 0
AP_IF = 1
STAT_IDLE = 0


class _Interface:
    """active() as every interface of `network` has it: a switch to read back."""

    _active = False

    def active(self, on=None):
        if on is not None:
            self._active = bool(on)
        return self._active


class WLAN(_Interface):
    def __init__(self, interface=STA_IF):
        pass

    def connect(self, ssid=None, key=None, **kw):
        pass

    def disconnect(self):
        pass

    def isconnected(self):
        return False

    def status(self, param=None):
        return STAT_IDLE

    def config(self, *args, **kw):
        if args == ("mac",):
            return b"\x28\xcd\xc1\x00\x00\x01"
        return None

    def ifconfig(self, *args):
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")


class WIZNET5K(_Interface):
    """The W5500-EVB-Pico's network.WIZNET5K with the cable unplugged: the
    link never comes up, DHCP fails. Prints how the port built it."""

    def __init__(self, spi, cs, rst):
        print("NX WIZNET5K", spi, cs, rst)

    def isconnected(self):
        return False

    def ifconfig(self, *args):
        if args == ("dhcp",):
            raise OSError(110)  # ETIMEDOUT: no DHCP server answered
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def config(self, *args, **kw):
        if args == ("mac",):
            return b"\x02\x08\xdc\x00\x00\x01"
        return None
