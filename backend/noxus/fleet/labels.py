"""How pages name a kiosk's asset status and its connection (one rule: noxus.fleet.monitor.connection)."""

from noxus.core.i18n import lazy_gettext
from noxus.fleet.models import KioskStatus

STATUS_NAMES = {
    KioskStatus.IN_STOCK: lazy_gettext("in stock"),
    KioskStatus.DEPLOYED: lazy_gettext("deployed"),
    KioskStatus.RETRIEVAL_ELIGIBLE: lazy_gettext("flagged for retrieval"),
    KioskStatus.RETRIEVAL_SCHEDULED: lazy_gettext("retrieval scheduled"),
    KioskStatus.RETRIEVED: lazy_gettext("retrieved"),
    KioskStatus.BROKEN: lazy_gettext("broken"),
    KioskStatus.LOST: lazy_gettext("lost"),
}

CONNECTION_NAMES = {
    "online": lazy_gettext("online"),
    "offline": lazy_gettext("offline"),
    "never": lazy_gettext("never connected"),
    "idle": lazy_gettext("not in service"),
}
