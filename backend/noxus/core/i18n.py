"""Languages, translations and Swiss formatting, for pages, exports, PDFs and e-mails alike.

Catalogs: gettext `.po` files managed by Babel in `noxus/locale/<lang>/LC_MESSAGES/messages.po`
(`make i18n` extracts and updates them; docs/i18n.md). They are compiled in memory when first
used, so a fresh checkout needs no build step and a stale `.mo` can never be served.

The language of a request: `?lang=xx` (the switcher), else the user's setting, else the
customer's language, else the browser's `Accept-Language`, else French. It is held in a context
variable, set by `LanguageMiddleware` and refined by the authentication dependency once the user
is known; `use_language()` switches it for a block (an invoice in the customer's language).

Formatting goes through Babel with the Swiss locales (de_CH, fr_CH, it_CH, en_CH): dates
`dd.mm.yyyy`, times 24 h, numbers with the Swiss apostrophe. Amounts of money are written
`CHF 1'234.50` in every language, as Swiss banks and the QR-bill write them.
"""

from __future__ import annotations

import io
import pathlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

if TYPE_CHECKING:  # core/db imports settings only; this is for the checker
    from sqlmodel import Session

LOCALE_DIR = pathlib.Path(__file__).resolve().parent.parent / "locale"
LANGUAGES: tuple[str, ...] = ("fr", "de", "it", "en")
DEFAULT_LANGUAGE = "fr"
# Italian is where a translator starts: what it lacks falls back to French.
FALLBACK = {"it": "fr"}
LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "it": "Italiano", "en": "English"}
BABEL_LOCALES = {"fr": "fr_CH", "de": "de_CH", "it": "it_CH", "en": "en_CH"}
COOKIE = "noxus_lang"


class _Current:
    """Mutable holder: a dependency running in a copied context (thread pool) can still change
    the language of the request it serves."""

    __slots__ = ("language",)

    def __init__(self, language: str) -> None:
        self.language = language


_current: ContextVar[_Current | None] = ContextVar("noxus_language", default=None)


def normalise(code: str | None) -> str | None:
    """'de-CH', 'DE', 'de_CH' -> 'de'; None for anything we do not speak."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def current_language() -> str:
    holder = _current.get()
    return holder.language if holder else DEFAULT_LANGUAGE


def set_language(code: str | None) -> None:
    """Set the language of the current request (or task); unknown codes are ignored."""
    lang = normalise(code)
    if lang is None:
        return
    holder = _current.get()
    if holder is None:
        _current.set(_Current(lang))
    else:
        holder.language = lang


@contextmanager
def use_language(code: str | None) -> Iterator[str]:
    """Render something in another language (a customer's invoice, an e-mail)."""
    token = _current.set(_Current(normalise(code) or DEFAULT_LANGUAGE))
    try:
        yield current_language()
    finally:
        _current.reset(token)


def from_accept_language(header: str | None) -> str | None:
    """The best language of an `Accept-Language` header that we speak (q-values honoured)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = normalise(tag)
        if lang and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


# --- catalogs ------------------------------------------------------------------------------------


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of a language, with its fallback chain (it -> fr)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        result: NullTranslations = NullTranslations()
    else:
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        result = Translations(buf)
    if lang in FALLBACK:
        result.add_fallback(translations(FALLBACK[lang]))
    return result


def gettext(message: str, **variables: object) -> str:
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_language()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def pgettext(context: str, message: str, **variables: object) -> str:
    # babel types pgettext as returning `object` (a missing key may come back as is)
    text = str(translations(current_language()).pgettext(context, message))
    return text % variables if variables else text


def lazy_gettext(message: str, **variables: object) -> LazyProxy:
    """For module-level strings (labels, enum names): translated when rendered."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def translate_in(lang: str, message: str, **variables: object) -> str:
    with use_language(lang):
        return gettext(message, **variables)


# --- formatting ----------------------------------------------------------------------------------


def babel_locale(lang: str | None = None) -> Locale:
    code = BABEL_LOCALES.get(normalise(lang) or current_language(), "fr_CH")
    try:
        return Locale.parse(code)
    except UnknownLocaleError:  # pragma: no cover - every Babel ships these
        return Locale.parse("fr_CH")


DATE_PATTERN = "dd.MM.yyyy"


def format_date(value: date | datetime | None, zone: ZoneInfo | str | None = None) -> str:
    """`05.03.2026`; a datetime is first put in the zone (the site's, else Europe/Zurich)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _in_zone(value, zone).date()
    return babel_dates.format_date(value, DATE_PATTERN, locale=babel_locale())


def format_time(
    value: datetime | time | None, zone: ZoneInfo | str | None = None, seconds: bool = False
) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _in_zone(value, zone).time()
    return babel_dates.format_time(value, "HH:mm:ss" if seconds else "HH:mm", locale=babel_locale())


def format_datetime(value: datetime | None, zone: ZoneInfo | str | None = None, seconds: bool = False) -> str:
    """`05.03.2026 14:07` in the zone (a naive value is taken as UTC, as stored)."""
    if value is None:
        return ""
    local = _in_zone(value, zone)
    pattern = DATE_PATTERN + (" HH:mm:ss" if seconds else " HH:mm")
    return babel_dates.format_datetime(local, pattern, locale=babel_locale())


def format_month(year: int, month: int) -> str:
    """`März 2026`, `mars 2026`."""
    return babel_dates.format_date(date(year, month, 1), "LLLL yyyy", locale=babel_locale())


def format_weekday(value: date, width: str = "abbreviated") -> str:
    return babel_dates.format_date(value, "EEE" if width == "abbreviated" else "EEEE", locale=babel_locale())


def format_decimal(value: float | Decimal | None, places: int = 2) -> str:
    """A number in the page's language: `1'234.50` (de), `1'234,50` (fr)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return _swiss_number(value, pattern, babel_locale())


def format_rate(basis_points: int) -> str:
    """A percentage rate kept in basis points, without needless zeros: 810 -> `8.1` (de), `8,1` (fr)."""
    return _swiss_number(Decimal(basis_points) / 100, "0.##", babel_locale())


def _swiss_number(value: float | Decimal, pattern: str, locale: Locale | str) -> str:
    """Babel's pattern output with the locale's symbols. Babel reads a pair of apostrophes in its
    own output as a quoted literal and drops them, and the Swiss group symbol is an apostrophe
    (`1'234'567.00` came out `1234567.00`): format with the unambiguous symbols of `en`, then
    put the locale's in their place."""
    text = babel_numbers.format_decimal(value, format=pattern, locale="en")
    swap = {",": babel_numbers.get_group_symbol(locale), ".": babel_numbers.get_decimal_symbol(locale)}
    return "".join(swap.get(ch, ch) for ch in text)


def chf(centimes: int | None) -> Decimal | None:
    return None if centimes is None else (Decimal(centimes) / 100).quantize(Decimal("0.01"))


def format_chf(amount: int | Decimal | None, *, centimes: bool | None = None, symbol: bool = True) -> str:
    """`CHF 1'234.50`. An int is centimes (how the database keeps money), a Decimal francs."""
    if amount is None:
        return ""
    if centimes is None:
        centimes = isinstance(amount, int)
    francs = Decimal(amount) / 100 if centimes else Decimal(amount)
    # Swiss practice for money in every national language: point and apostrophe.
    text = _swiss_number(francs, "#,##0.00;-#,##0.00", "de_CH")
    return f"CHF\u00a0{text}" if symbol else text


def format_minutes(minutes: int | None, signed: bool = False) -> str:
    """Durations as people read them on a timesheet: `8:24`, `-1:05`, `+12:00`."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ("+" if signed and minutes > 0 else "")
    m = abs(minutes)
    return f"{sign}{m // 60}:{m % 60:02d}"


def _in_zone(value: datetime, zone: ZoneInfo | str | None) -> datetime:
    from datetime import UTC

    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone or "Europe/Zurich")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


# --- the request's language ------------------------------------------------------------------------

# Set by the tenancy context at start-up (core knows no context): the language of a customer.
customer_language_resolver: Callable[[Session, int], str | None] | None = None


def negotiate(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a request before the user is known."""
    return normalise(asked) or normalise(cookie) or from_accept_language(accept_language) or DEFAULT_LANGUAGE


class LanguageMiddleware:
    """Pure ASGI middleware: `?lang=` (remembered in a cookie), the cookie, `Accept-Language`."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qs

        from starlette.requests import HTTPConnection

        conn = HTTPConnection(scope)
        asked = normalise(parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])[0])
        chosen = asked or normalise(conn.cookies.get(COOKIE))
        lang = negotiate(asked, conn.cookies.get(COOKIE), conn.headers.get("accept-language"))
        scope.setdefault("state", {})["language_explicit"] = bool(chosen)
        token = _current.set(_Current(lang))

        async def send_with_cookie(message: dict) -> None:
            if asked and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append(
                    (b"set-cookie", f"{COOKIE}={asked}; Path=/; Max-Age=31536000; SameSite=Lax".encode())
                )
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            _current.reset(token)


def refine_for_user(explicit: bool, user_language: str | None, customer_language: str | None) -> None:
    """Once the user is known: their setting, else their customer's language — unless the person
    chose a language on this device (switcher), which wins."""
    if explicit:
        return
    set_language(user_language or customer_language)
