"""The 26 Swiss cantons by their official two-letter codes. A site's canton chooses its public
holidays (HR); a customer's is where it is registered."""

from noxus.core.i18n import lazy_gettext

CANTONS = {
    "AG": lazy_gettext("Aargau"),
    "AI": lazy_gettext("Appenzell Innerrhoden"),
    "AR": lazy_gettext("Appenzell Ausserrhoden"),
    "BE": lazy_gettext("Bern"),
    "BL": lazy_gettext("Basel-Landschaft"),
    "BS": lazy_gettext("Basel-Stadt"),
    "FR": lazy_gettext("Fribourg"),
    "GE": lazy_gettext("Geneva"),
    "GL": lazy_gettext("Glarus"),
    "GR": lazy_gettext("Graubünden"),
    "JU": lazy_gettext("Jura"),
    "LU": lazy_gettext("Lucerne"),
    "NE": lazy_gettext("Neuchâtel"),
    "NW": lazy_gettext("Nidwalden"),
    "OW": lazy_gettext("Obwalden"),
    "SG": lazy_gettext("St. Gallen"),
    "SH": lazy_gettext("Schaffhausen"),
    "SO": lazy_gettext("Solothurn"),
    "SZ": lazy_gettext("Schwyz"),
    "TG": lazy_gettext("Thurgau"),
    "TI": lazy_gettext("Ticino"),
    "UR": lazy_gettext("Uri"),
    "VD": lazy_gettext("Vaud"),
    "VS": lazy_gettext("Valais"),
    "ZG": lazy_gettext("Zug"),
    "ZH": lazy_gettext("Zurich"),
}
CODES = frozenset(CANTONS)


def name(code: str | None) -> str:
    return str(CANTONS[code]) if code in CANTONS else (code or "")
