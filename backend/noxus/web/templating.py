"""The one Jinja environment of every page: templates under web/templates, gettext through the
catalogs of noxus.core.i18n (`{{ _("…") }}`, `{% trans %}`) and Babel's Swiss formatting as filters."""

import pathlib

from fastapi.templating import Jinja2Templates

from noxus.core import i18n

templates = Jinja2Templates(directory=pathlib.Path(__file__).parent / "templates")
env = templates.env
env.add_extension("jinja2.ext.i18n")
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
)
env.globals.update(
    _=i18n.gettext,
    current_language=i18n.current_language,
    LANGUAGES=i18n.LANGUAGES,
    LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
)
env.filters.update(
    date=i18n.format_date,
    time=i18n.format_time,
    datetime=i18n.format_datetime,
    chf=i18n.format_chf,
    decimal=i18n.format_decimal,
    minutes=i18n.format_minutes,
)
