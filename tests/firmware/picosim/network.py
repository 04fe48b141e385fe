# Fake `network` for the Pico W port on the Unix port: Wi-Fi comes up when the
# scripted offline taps are done.
import simctl

STA_IF = 0


class WLAN:
    def __init__(self, iface):
        self.joins = 0

    def active(self, on=None):
        return True

    def connect(self, ssid, password=None):
        self.joins += 1

    def isconnected(self):
        return simctl.online()

    def config(self, key):
        return b"\x28\xcd\xc1\x00\x00\x01"

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def status(self, key=None):
        return -52
