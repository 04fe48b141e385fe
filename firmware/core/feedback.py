# What the employee sees and hears. Ports implement the same methods with a
# LED, a buzzer and a display (firmware/core/ui/pins.py); the simulator prints
# one line per event.

ACCEPTED = "accepted"
ALREADY = "already recorded"
UNKNOWN = "unknown badge"
FULL = "memory full"
ERROR = "error"
ENROLLED = "enrolled"
ENROLL_WAIT = "enroll wait"  # the enroll command: tap the badge to enrol
ALMOST_FULL = "memory almost full"  # statuses, shown on the idle screen
ONLINE = "online"
OFFLINE = "offline"  # followed by the punches waiting, if any

class Feedback:
    """Interface; also a silent implementation."""

    def show(self, event, detail=""):
        pass

    def status(self, online, pending, fill, warn=None):
        """Idle-screen state: link up, punches waiting, journal fill (a
        fraction, or None when only `warn`, the 80 % flag, is given)."""

    def tick(self, now_ms):
        """Called every loop: end LEDs, play the rest of a buzzer pattern."""

    def playing(self):
        """True while a buzzer pattern plays: the loop then keeps slow flash
        writes (the journal cursor) for later, so the beep keeps its length."""
        return False

    def set_texts(self, texts):
        """Display texts from the config ({event: [line, line]}, docs/firmware.md),
        or None for the built-in French ones."""


class PrintFeedback(Feedback):
    def __init__(self, kiosk_id, quiet=False):
        self.kiosk_id = kiosk_id
        self.quiet = quiet

    def show(self, event, detail=""):
        if not self.quiet:
            print("[%s] %s %s" % (self.kiosk_id, event, detail))
