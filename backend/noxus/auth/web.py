"""App-wide security plumbing, installed once by create_app(): browsers that are not logged in
are sent to /login, and every response carries defensive headers."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from noxus.core import i18n
from noxus.web import errors

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Only this origin's files: no inline script or style (stylesheets and scripts are served
    # from /static), no plug-ins, no framing (frame-ancestors), forms post only here.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}
# The interactive API docs (FastAPI's Swagger UI / ReDoc) load their code from a CDN with an
# inline bootstrap script: these two pages alone get a CSP that allows it.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "worker-src blob:; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"  # only over HTTPS (a browser ignores it on HTTP anyway)


def install(app: FastAPI) -> None:
    # 401 -> /login for browsers, HTML error pages, JSON for the API
    errors.install(app)

    # An id or number beyond what the database column holds cannot name anything: a clear 400
    # instead of a 500 (SQLite raises OverflowError at bind time, PostgreSQL a DataError).
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception):
        if errors.wants_html(request):
            return errors.render_error(request, 400)
        return JSONResponse({"detail": "a number or value in the request is out of range"}, status_code=400)

    # Safety net: a request that breaks a constraint (duplicate, reference to nothing) is the
    # client's conflict, not a server error; routes should still check and say precisely what.
    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError):
        if errors.wants_html(request):
            return errors.render_error(request, 409)
        return JSONResponse(
            {
                "detail": "the request conflicts with existing data or refers to something "
                "that does not exist; check the ids"
            },
            status_code=409,
        )

    _document_error_details(app)

    # outermost: the language is known to every handler, error pages included
    app.add_middleware(i18n.LanguageMiddleware)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        if request.url.path in DOCS_PATHS or request.url.path.startswith("/docs/"):
            response.headers.setdefault("Content-Security-Policy", DOCS_CSP)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        # Behind the TLS proxy (uvicorn --proxy-headers: X-Forwarded-Proto) the scheme is https.
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def _document_error_details(app: FastAPI) -> None:
    """Routes answer 422 both for FastAPI's validation errors (a list) and with a plain message
    (`HTTPException(422, "...")`); the schema says so, so clients and Schemathesis know."""
    original = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        err = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if err and "detail" in err.get("properties", {}):
            listed = err["properties"]["detail"]
            err["properties"]["detail"] = {"anyOf": [listed, {"type": "string"}], "title": "Detail"}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
