# Portable kiosk core: runs unchanged on MicroPython and CPython.
