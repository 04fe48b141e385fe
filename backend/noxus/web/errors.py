"""Refusals and failures for people: one HTML page for 403/404/422/500 (and any other status) in
the page's language, with the way back; the JSON API (`/api/…`) keeps its JSON answers.

Pages never show Python or Pydantic text: the message comes from a key (`ERROR_MESSAGES`) or from
an `HTTPException` whose detail is a `PageError` (a message already written for people)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from noxus.core import i18n
from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.web.templating import templates

log = logging.getLogger("noxus.web")

TITLES = {
    400: lazy_gettext("The request cannot be understood"),
    401: lazy_gettext("Please log in"),
    403: lazy_gettext("You may not open this page"),
    404: lazy_gettext("This page does not exist"),
    405: lazy_gettext("This action is not possible here"),
    409: lazy_gettext("This conflicts with existing data"),
    422: lazy_gettext("Some values are not valid"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Something went wrong on our side"),
    503: lazy_gettext("The service is not available right now"),
}
EXPLANATIONS = {
    400: lazy_gettext("A value in the address or the form is out of range or malformed."),
    403: lazy_gettext("Your role does not allow this page or action. Ask an administrator if you need it."),
    404: lazy_gettext("The address may be mistyped, or the item was removed or belongs to another customer."),
    409: lazy_gettext("Somebody may have changed the same data; reload the page and try again."),
    422: lazy_gettext("A value in the address is not valid (for example a month like 2026-13)."),
    429: lazy_gettext("Wait a moment before trying again."),
    500: lazy_gettext("The error was recorded. Try again; if it persists, contact NOXUS support."),
    503: lazy_gettext("Try again in a few minutes."),
}


class PageError(str):
    """An `HTTPException` detail that is already a sentence for people (translated)."""


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API, not a script)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def render_error(request: Request, status: int, message: str | None = None) -> Response:
    title = str(TITLES.get(status, TITLES[500 if status >= 500 else 400]))
    explanation = message or str(EXPLANATIONS.get(status, ""))
    back = _same_site_back(request)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "explanation": explanation, "back": back},
        status_code=status,
    )


def _same_site_back(request: Request) -> str:
    """The page the person came from, only when it is ours (never a link to another site)."""
    from urllib.parse import urlsplit

    ref = urlsplit(request.headers.get("referer", ""))
    if ref.netloc and ref.netloc == request.url.netloc and ref.path:
        return ref.path + (f"?{ref.query}" if ref.query else "")
    return "/"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET" and wants_html(request):
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(nxt, safe="/"), status_code=303)
        if wants_html(request):
            detail = exc.detail if isinstance(exc.detail, PageError) else None
            return render_error(request, exc.status_code, detail)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_html(request):
            return render_error(request, 422)
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # this handler runs outside the middleware stack: negotiate the language again
        i18n.set_language(
            i18n.negotiate(
                request.query_params.get("lang"),
                request.cookies.get(i18n.COOKIE),
                request.headers.get("accept-language"),
            )
        )
        if wants_html(request):
            return render_error(request, 500)
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": _("internal error; it was recorded")}, status_code=500)
