# Scratch directories for the portable checks (journal_checks.py,
# portable_cases.py), on CPython, the MicroPython Unix port and the wasm port
# (tests/wasm/run_cases.mjs copies this file next to portable_cases.py).
# MicroPython-compatible on purpose: no shutil, pathlib.

import os


def rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        full = path + "/" + n
        try:
            os.remove(full)
        except OSError:
            rmtree(full)
    os.rmdir(path)
