"""noxus-provision: the technician's CLI that turns a blank Pico W (or a
Raspberry Pi) into an enrolled NoxusTime kiosk, and enrolls badges."""

__version__ = "0.1.0"
