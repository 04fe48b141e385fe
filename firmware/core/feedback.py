# What the employee sees and hears. Ports implement the same methods with a
# LED, a buzzer and a display; the simulator prints one line per event.

ACCEPTED = "accepted"
ALREADY = "already recorded"
UNKNOWN = "unknown badge"
FULL = "memory full"
ERROR = "error"


class Feedback:
    """Interface; also a silent implementation."""

    def show(self, event, detail=""):
        pass

    def status(self, online, pending, fill):
        pass


class PrintFeedback(Feedback):
    def __init__(self, kiosk_id, quiet=False):
        self.kiosk_id = kiosk_id
        self.quiet = quiet

    def show(self, event, detail=""):
        if not self.quiet:
            print("[%s] %s %s" % (self.kiosk_id, event, detail))
