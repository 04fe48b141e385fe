# Helpers shared by the portable case modules (CPython and MicroPython).

import os

from firmware.core import fsutil

_n = [0]


def eq(a, b):
    if a != b:
        raise AssertionError("%r != %r" % (a, b))


def scratch(name):
    """A fresh directory under $FW_SCRATCH (set by the pytest drivers)."""
    root = os.getenv("FW_SCRATCH") or "/tmp/fwcases"
    _n[0] += 1
    path = "%s/%s-%d-%d" % (root, name, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    fsutil.makedirs(path)
    return path


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)
