"""What a kiosk's display says, in the language of the customer it stands at.

The texts are entries of the same gettext catalogs as the pages, pushed in the kiosk's retained
config under `texts` (docs/protocol.md, docs/firmware.md). The display has an 8x8 ASCII font and
16 columns: a text is one or two lines (`|` between them in the catalog, so a translator keeps
the pair together), folded to ASCII the way the language writes without accents (German
`ü` -> `ue`, French `é` -> `e`) and cut to 16 columns. Keys are the firmware's events
(firmware/core/feedback.py); a kiosk without texts in its config shows its built-in French ones,
which the French catalog reproduces exactly."""

import unicodedata

from noxus.core.i18n import pgettext, use_language

COLUMNS = 16  # firmware/core/ui/display.py: 8x8 font on a 128 px SSD1306

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_TYPOGRAPHIC = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u00a0": " ", "\u202f": " "}
)


def _catalog() -> dict[str, str]:
    """Keys: the firmware's event and status names (firmware/core/feedback.py), in the language
    being written. "Hello" has one line: the kiosk shows the badge holder's first name below.
    (The context is a literal in each call: the extractor reads only literals.)"""
    return {
        "accepted": pgettext("kiosk display 2x16", "Hello"),
        "already recorded": pgettext("kiosk display 2x16", "Already|recorded"),
        "enrolled": pgettext("kiosk display 2x16", "Badge|enrolled"),
        "enroll wait": pgettext("kiosk display 2x16", "Badge|tap your badge"),
        "unknown badge": pgettext("kiosk display 2x16", "Unknown badge|see HR"),
        "memory full": pgettext("kiosk display 2x16", "Memory full|NOT recorded"),
        "error": pgettext("kiosk display 2x16", "Error|try again"),
        "memory almost full": pgettext("kiosk display 2x16", "Memory almost|full"),
        "online": pgettext("kiosk display 2x16", "online"),
        "offline": pgettext("kiosk display 2x16", "offline"),
    }


def display_line(text: str, language: str) -> str:
    """One line as the display can draw it: printable ASCII, 16 columns."""
    if language == "de":
        text = text.translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHIC))
    ascii_text = "".join(c for c in text if " " <= c <= "~")
    return ascii_text.strip()[:COLUMNS]


def display_texts(language: str) -> dict[str, list[str]]:
    """{event: [line] or [line, line]} for the config's `texts`, in `language`."""
    with use_language(language) as lang:
        raw = _catalog()
    return {key: [display_line(line, lang) for line in text.split("|")[:2]] for key, text in raw.items()}
