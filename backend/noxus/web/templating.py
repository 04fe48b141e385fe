"""The one Jinja environment of every page: templates under web/templates, gettext through the
catalogs of noxus.core.i18n (`{{ _("…") }}`, `{% trans %}`) and Babel's Swiss formatting as filters."""

import pathlib
from collections.abc import Mapping

from fastapi.responses import HTMLResponse
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


def render_page(request, name: str, user, messages: Mapping, status_code: int = 200, **ctx) -> HTMLResponse:
    """A page for the logged-in `user` with its CSRF token and the note a redirect asked for: `?msg=key`
    looked up in `messages` (never text from the address bar)."""
    msg = messages.get(request.query_params.get("msg", ""))
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": getattr(user, "csrf_token", None) or "",
            "msg": str(msg) if msg else None,
            **ctx,
        },
        status_code=status_code,
    )


# --- the main menu -------------------------------------------------------------------------------

# Where each entry goes and what it says. Whether a person sees an entry is not decided here: it
# shows when the access rule of the page it opens (noxus.core.security, read from the app's
# routes) lets the person's role in — one list of rules, the routes'.
MENU = (
    ("/", i18n.lazy_gettext("Overview")),
    ("/customers", i18n.lazy_gettext("Customers")),
    ("/fleet", i18n.lazy_gettext("Fleet")),
    ("/fleet/visits", i18n.lazy_gettext("Visits")),
    ("/hr", i18n.lazy_gettext("HR")),
    ("/billing", i18n.lazy_gettext("Billing")),
    ("/users", i18n.lazy_gettext("Users")),
    ("/security/log", i18n.lazy_gettext("Security log")),
    ("/account", i18n.lazy_gettext("My account")),
    ("/logout", i18n.lazy_gettext("Log out")),
)


def _page_rules(app) -> dict:
    rules = getattr(app.state, "nav_rules", None)
    if rules is None:
        from noxus.core.security import route_policy

        try:
            from fastapi.routing import iter_route_contexts

            routes = list(iter_route_contexts(app.routes))
        except ImportError:  # older FastAPI: app.routes is flat
            routes = list(app.routes)
        rules = {}
        for route in routes:
            if "GET" in (getattr(route, "methods", None) or ()) and route.path not in rules:
                rules[route.path] = route_policy(route)
        app.state.nav_rules = rules
    return rules


def nav_entries(request) -> list[tuple[str, str]]:
    """The menu entries the logged-in person may open (none before logging in)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return []
    rules = _page_rules(request.app)
    return [
        (path, str(label))
        for path, label in MENU
        if rules.get(path) == "public"
        or (isinstance(rules.get(path), frozenset) and principal.role in rules[path])
    ]


env.globals["nav_entries"] = nav_entries
