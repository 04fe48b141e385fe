"""Fake RPi.GPIO: records pin levels."""

BCM = 11
OUT = 0
IN = 1
HIGH = 1
LOW = 0
levels = {}


def setwarnings(flag):
    pass


def setmode(mode):
    pass


def setup(pin, mode, initial=LOW):
    levels[pin] = initial


def output(pin, value):
    levels[pin] = value


def cleanup():
    levels.clear()
