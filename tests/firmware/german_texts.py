# The German display texts a German customer's kiosk gets in its config: the backend's catalog
# gives these (tests/fleet/test_display_texts.py) and the kiosk shows them (cases_kiosk.py).
# Plain data: it runs on the MicroPython Unix port too.
GERMAN = {
    "accepted": ["Guten Tag"],
    "already recorded": ["Bereits", "erfasst"],
    "unknown badge": ["Badge unbekannt", "siehe HR"],
    "enroll wait": ["Badge", "bitte badgen"],
    "memory almost full": ["Speicher fast", "voll"],
    "online": ["online"],
    "offline": ["offline"],
}
