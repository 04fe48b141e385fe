"""What a kiosk's display says, in the language of the customer it stands at.

The texts are entries of the same gettext catalogs as the pages, pushed in the kiosk's retained
config under `texts` (docs/protocol.md, docs/firmware.md). The display has an 8x8 ASCII font and
16 columns: a text is one or two lines (`|` between them in the catalog, so a translator keeps
the pair together), folded to ASCII the way the language writes without accents (German
`ü` -> `ue`, French `é` -> `e`) and cut to 16 columns. Keys are the firmware's events
(firmware/core/feedback.py); a kiosk without texts in its config shows its built-in French ones,
which the French catalog reproduces exactly.

`claim code` is the line above the code a kiosk shows while it claims its credentials
(firmware/core/claim.py). Such a kiosk has no config yet, so it always shows the firmware's
built-in French; the entry keeps the wording with the others (translated, checked to fit, the
French one equal to the built-in) but is left out of the config: a running kiosk keeps its config
on the heap and never shows a claim code again."""

import unicodedata

from noxus.core.i18n import pgettext, use_language

CLAIM_CODE = "claim code"  # firmware/core/claim.py TEXT_KEY
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
        CLAIM_CODE: pgettext("kiosk display 2x16", "Claim code:"),
    }


def display_line(text: str, language: str) -> str:
    """One line as the display can draw it: printable ASCII, 16 columns."""
    if language == "de":
        text = text.translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHIC))
    ascii_text = "".join(c for c in text if " " <= c <= "~")
    return ascii_text.strip()[:COLUMNS]


def display_texts(language: str, claim: bool = False) -> dict[str, list[str]]:
    """{event: [line] or [line, line]} for the config's `texts`, in `language`; with `claim`,
    also the claim step's `claim code`, which the config leaves out."""
    with use_language(language) as lang:
        raw = _catalog()
    if not claim:
        del raw[CLAIM_CODE]
    return {key: [display_line(line, lang) for line in text.split("|")[:2]] for key, text in raw.items()}
