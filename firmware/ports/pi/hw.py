"""Raspberry Pi hardware adapters (CPython): spidev for the MFRC522, RPi.GPIO
for LEDs, buzzer and reader reset, systemd for the watchdog. Pins come from
hardware/pinmap.json ("pi", BCM numbering). The MFRC522 logic is the portable
core driver (firmware/core/mfrc522.py): the PyPI `mfrc522` package reads only
4-byte UIDs with REQA and cannot cascade, so only `spidev` is used from it."""

import json
import os
import socket
import subprocess


def load_pinmap(path, board="pi"):
    with open(path) as f:
        return json.load(f)[board]


class SpiDevBus:
    """machine.SPI's write/write_readinto on top of spidev: the kernel drives
    chip select around each transfer, one transfer per driver frame."""

    def __init__(self, bus, device, baudrate):
        import spidev
        self.dev = spidev.SpiDev()
        self.dev.open(bus, device)
        self.dev.max_speed_hz = baudrate
        self.dev.mode = 0

    def write(self, buf):
        self.dev.xfer2(list(buf))

    def write_readinto(self, out, into):
        got = self.dev.xfer2(list(out))
        for i, b in enumerate(got):
            into[i] = b


class NoPin:
    """Chip select handled by spidev: the driver's toggles go nowhere."""

    def value(self, v=None):
        return 1


class GpioPin:
    def __init__(self, gpio, bcm):
        self.gpio = gpio
        self.bcm = bcm
        gpio.setup(bcm, gpio.OUT, initial=gpio.LOW)
        self._v = 0

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = 1 if v else 0
        self.gpio.output(self.bcm, self.gpio.HIGH if v else self.gpio.LOW)


def gpio():
    import RPi.GPIO as GPIO
    GPIO.setwarnings(False)
    GPIO.setmode(GPIO.BCM)
    return GPIO


def make_reader(pm, g):
    from firmware.core.mfrc522 import MFRC522
    r = pm["reader"]
    drv = MFRC522(SpiDevBus(r["bus"], r["device"], r.get("baudrate", 4000000)), NoPin(),
                  GpioPin(g, r["rst"]))
    drv.rst.value(1)
    drv.init()
    return drv


def make_feedback(pm, g, clock):
    from firmware.core.ui.pins import PinFeedback
    screen = None
    d = pm.get("display")
    if d:
        try:
            import adafruit_ssd1306  # optional: pip install adafruit-circuitpython-ssd1306
            import board
            import busio

            from firmware.core.ui.display import Screen
            oled = adafruit_ssd1306.SSD1306_I2C(d["width"], d["height"], busio.I2C(board.SCL, board.SDA),
                                                addr=d["addr"])
            screen = Screen(oled, clock)
        except (ImportError, OSError, ValueError):
            screen = None  # no display library or no display wired: LEDs and buzzer only
    return PinFeedback(GpioPin(g, pm["led_green"]), GpioPin(g, pm["led_red"]), GpioPin(g, pm["buzzer"]), screen)


class SystemdWatchdog:
    """sd_notify WATCHDOG=1 without a dependency; a no-op outside systemd."""

    def __init__(self):
        self.addr = os.environ.get("NOTIFY_SOCKET")
        self.sock = None
        if self.addr:
            if self.addr.startswith("@"):
                self.addr = "\0" + self.addr[1:]
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def notify(self, msg):
        if self.sock is not None:
            try:
                self.sock.sendto(msg.encode(), self.addr)
            except OSError:
                pass

    def feed(self):
        self.notify("WATCHDOG=1")


class PiPort:
    def __init__(self, data_dir, iface="wlan0"):
        self.data_dir = data_dir
        self.iface = iface
        self.wdt = SystemdWatchdog()
        self.crash_path = os.path.join(data_dir, "crash.log")

    def reboot(self):
        # The service exits; systemd (Restart=always) starts it again. A full
        # OS reboot is the technician's call, not a remote command's.
        os._exit(0)

    def net_info(self):
        d = {"ip": None, "mac": None, "rssi": None}
        try:
            with open(f"/sys/class/net/{self.iface}/address") as f:
                d["mac"] = f.read().strip()
        except OSError:
            pass
        try:
            d["ip"] = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                                     timeout=1).stdout.split()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            pass
        try:
            with open("/proc/net/wireless") as f:
                for line in f.read().splitlines()[2:]:
                    if line.strip().startswith(self.iface + ":"):
                        d["rssi"] = int(float(line.split()[3]))
        except (OSError, ValueError, IndexError):
            pass
        return d

    def free_flash(self):
        s = os.statvfs(self.data_dir)
        return {"free_flash": s.f_bavail * s.f_frsize}

    def clear_crash(self):
        try:
            os.remove(self.crash_path)
        except OSError:
            pass
