"""App-wide security plumbing, installed once by create_app(): browsers that are not logged in
are sent to /login, and every response carries defensive headers."""

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return (
        request.method == "GET"
        and not path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _redirect_to_login(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401 and _wants_html(request):
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(nxt, safe="/"), status_code=303)
        return await http_exception_handler(request, exc)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response
