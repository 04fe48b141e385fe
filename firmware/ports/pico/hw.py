# Raspberry Pi Pico W and WIZnet W5500-EVB-Pico hardware adapters:
# machine.SPI/Pin/I2C/RTC/WDT, network.WLAN or network.WIZNET5K, ntptime. Pins
# and the network chip come from hardware/pinmap.json ("pico_w" or
# "w5500_evb_pico", picked from the MicroPython board name).
# Logic lives in firmware/core; this file only connects it to the board.

import gc
import os
import time

import machine

try:
    import network
except ImportError:  # an image without a network stack (the frozen W5500 driver brings its own)
    network = None  # type: ignore[assignment]

from firmware.core.ticks import ticks_add, ticks_diff

# time.time() counts from 2000 on older rp2 builds, from 1970 on newer ones.
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0

WIFI_BACKOFF_MIN_MS = 1000  # first retry after a failed join
WIFI_BACKOFF_MAX_MS = 60000  # an access point down for hours: one try a minute
WIFI_JOIN_TIMEOUT_MS = 15000  # WPA2 join + DHCP take 2-6 s on a Pico W
NTP_EVERY_MS = 6 * 3600 * 1000  # the RTC drifts ~1 s/day; four syncs a day is plenty
NTP_RETRY_MS = 60000
WDT_TIMEOUT_MS = 8000  # RP2040 maximum is ~8.3 s; the loop feeds it every poll


def board_name():
    """The pin-map section of the board we run on, from MicroPython's board
    name ("W5500-EVB-Pico with RP2040", "Raspberry Pi Pico W with RP2040")."""
    try:
        machine_name = os.uname().machine
    except AttributeError:  # a port without os.uname
        machine_name = ""
    return "w5500_evb_pico" if "W5500" in machine_name else "pico_w"


def load_pinmap(path, board=None):
    import json
    with open(path) as f:
        return json.load(f)[board or board_name()]


def make_network(pm, cfg):
    """The network adapter the pin map names: the Pico W's CYW43 Wi-Fi or a
    W5500 on SPI. Both have poll(now_ms) -> True when the link just came up,
    .up, .joins and info()."""
    net = pm.get("network") or {"chip": "CYW43"}
    if net["chip"] == "W5500":
        return Ethernet(net, cfg.get("ethernet"))
    return Wifi(cfg["wifi"]["ssid"], cfg["wifi"].get("password"))


def utc_seconds():
    return time.time() + EPOCH_OFFSET


def set_rtc(utc_ms):
    tm = time.gmtime(utc_ms // 1000 - EPOCH_OFFSET)
    machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))


def make_reader(pm):
    from firmware.core.mfrc522 import MFRC522
    r = pm["reader"]
    Pin = machine.Pin
    spi = machine.SPI(r["spi"], baudrate=r.get("baudrate", 4000000), polarity=0, phase=0,
                      sck=Pin(r["sck"]), mosi=Pin(r["mosi"]), miso=Pin(r["miso"]))
    cs = Pin(r["cs"], Pin.OUT, value=1)
    rst = Pin(r["rst"], Pin.OUT, value=1)
    drv = MFRC522(spi, cs, rst)
    drv.init()
    return drv


def make_feedback(pm, clock):
    from firmware.core.ui.pins import PinFeedback
    Pin = machine.Pin
    screen = None
    d = pm.get("display")
    if d:
        try:
            import ssd1306  # frozen into the NoxusTime image (firmware/manifest.py)
        except ImportError:
            # The pin map declares a display but the driver is missing: run on LEDs and
            # buzzer, and say so on the console and in crash.log (reported at the next birth).
            from firmware.core.fleet import crashlog
            crashlog.note("crash.log", "display: the pin map declares an SSD1306 but the ssd1306 driver "
                                       "is not installed: flash the NoxusTime image (noxus-provision flash)")
        else:
            i2c = machine.I2C(d["i2c"], sda=Pin(d["sda"]), scl=Pin(d["scl"]), freq=400000)
            try:
                # Probe the display's own address with a NOP command (0xE3): ACKed
                # only if it is there. (scan() probes all 112 addresses by
                # bit-banging: rp2's hardware I2C cannot send zero-length writes.)
                i2c.writeto(d["addr"], b"\x80\xe3")
            except OSError:
                pass  # no display answers (optional in the pin map): LEDs and buzzer only
            else:
                from firmware.core.ui.display import Screen
                screen = Screen(ssd1306.SSD1306_I2C(d["width"], d["height"], i2c, d["addr"]), clock)
    return PinFeedback(Pin(pm["led_green"], Pin.OUT), Pin(pm["led_red"], Pin.OUT),
                       Pin(pm["buzzer"], Pin.OUT), screen)


def _came_up(link):
    """`link` (Wifi, Ethernet) is connected: True only on the poll that brought it up."""
    if link.up:
        return False
    link.up = True
    link.joins += 1
    link._backoff = WIFI_BACKOFF_MIN_MS
    return True


class Wifi:
    """Join and rejoin with exponential backoff, never blocking the loop."""

    def __init__(self, ssid, password):
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)
        self.ssid = ssid
        self.password = password
        self.up = False
        self.joins = 0
        self._backoff = WIFI_BACKOFF_MIN_MS
        self._next_try = None
        self._joining_since = None

    def poll(self, now_ms):
        """-> True when the link just came up."""
        if self.wlan.isconnected():
            self._joining_since = None
            return _came_up(self)
        self.up = False
        if self._joining_since is not None:
            if ticks_diff(now_ms, self._joining_since) < WIFI_JOIN_TIMEOUT_MS:
                return False
            self._joining_since = None
        if self._next_try is None or ticks_diff(now_ms, self._next_try) >= 0:
            self.wlan.connect(self.ssid, self.password)
            self._joining_since = now_ms
            self._next_try = ticks_add(now_ms, self._backoff)
            self._backoff = min(self._backoff * 2, WIFI_BACKOFF_MAX_MS)
        return False

    def info(self):
        d = {"ip": None, "mac": None, "rssi": None}  # type: dict
        try:
            mac = self.wlan.config("mac")
            d["mac"] = ":".join("%02x" % b for b in mac)
            if self.up:
                d["ip"] = self.wlan.ifconfig()[0]
                d["rssi"] = self.wlan.status("rssi")
        except Exception:  # an older firmware lacks one of these: report what we have
            pass
        return d


class Ethernet:
    """A W5500 on SPI through network.WIZNET5K (MicroPython board
    W5500_EVB_PICO): the cable is the link. DHCP unless kiosk.json has
    "ethernet": {"ip", "mask", "gw", "dns"}. Same contract as Wifi."""

    def __init__(self, net, static=None):
        Pin = machine.Pin
        spi = machine.SPI(net["spi"], baudrate=net.get("baudrate", 20000000), polarity=0, phase=0,
                          sck=Pin(net["sck"]), mosi=Pin(net["mosi"]), miso=Pin(net["miso"]))
        self.nic = _wiznet5k()(spi, Pin(net["cs"], Pin.OUT, value=1), Pin(net["rst"], Pin.OUT, value=1))
        self.nic.active(True)
        self.static = static
        self.up = False
        self.joins = 0
        self._backoff = WIFI_BACKOFF_MIN_MS
        self._next_try = None

    def _configure(self):
        s = self.static
        if s:
            self.nic.ifconfig((s["ip"], s.get("mask", "255.255.255.0"), s.get("gw", s["ip"]),
                               s.get("dns", s.get("gw", s["ip"]))))
        else:
            self.nic.ifconfig("dhcp")  # blocks while the lease is negotiated (< 1 s on a LAN)

    def poll(self, now_ms):
        """-> True when the link just came up (cable in and an address)."""
        # the address is read only until the link is up: a poll costs one SPI frame then
        if self.nic.isconnected() and (self.up or self.nic.ifconfig()[0] != "0.0.0.0"):
            return _came_up(self)
        self.up = False
        if self._next_try is None or ticks_diff(now_ms, self._next_try) >= 0:
            self._next_try = ticks_add(now_ms, self._backoff)
            self._backoff = min(self._backoff * 2, WIFI_BACKOFF_MAX_MS)
            try:
                self._configure()
            except OSError:  # no cable, no DHCP server: try again later
                pass
        return False

    def info(self):
        d = {"ip": None, "mac": None, "rssi": None, "link": "ethernet"}  # type: dict
        try:
            d["mac"] = ":".join(f"{b:02x}" for b in self.nic.config("mac"))
            if self.up:
                d["ip"] = self.nic.ifconfig()[0]
        except OSError:  # the chip did not answer: report what we have
            return d
        return d


def _wiznet5k():
    """MicroPython's network.WIZNET5K (the W5500_EVB_PICO build), else the
    frozen pure-Python driver, which then also serves as the `socket` module
    (an image without a network stack has none; docs/rp2040-emulation.md)."""
    native = getattr(network, "WIZNET5K", None)
    if native is not None:
        return native
    import sys

    from firmware.ports.pico import w5500
    sys.modules["socket"] = w5500
    return w5500.WIZNET5K


def on_socket_read(fn):
    """fn() called as each read of the frozen W5500 driver's sockets starts
    (None: no longer); nothing with a native network stack."""
    import sys

    if "firmware.ports.pico.w5500" in sys.modules:  # loaded by _wiznet5k: never load it for this
        from firmware.ports.pico import w5500
        w5500.on_read = fn


class PicoPort:
    """Hooks the kiosk core calls: reboot, health probes, watchdog."""

    def __init__(self, wifi, fs_root="/", crash_path="crash.log", wdt_ms=WDT_TIMEOUT_MS):
        self.wifi = wifi
        self.fs_root = fs_root
        self.crash_path = crash_path
        self.wdt = machine.WDT(timeout=wdt_ms) if wdt_ms else None

    def reboot(self):
        machine.reset()

    def net_info(self):
        return self.wifi.info() if self.wifi is not None else {}

    def free_flash(self):
        s = os.statvfs(self.fs_root)
        return {"free_flash": s[0] * s[3], "free_heap": gc.mem_free()}

    def clear_crash(self):
        from firmware.core import fsutil
        fsutil.remove(self.crash_path)


def sync_ntp(clock, host=None):
    """Set the RTC from NTP (blocks up to ~1 s: runs only when no card is on
    the reader). -> skew ms or None."""
    import ntptime
    if host:
        ntptime.host = host
    ntptime.timeout = 1
    t = ntptime.time()  # seconds in the port's epoch
    return clock.set_time((t + EPOCH_OFFSET) * 1000)
