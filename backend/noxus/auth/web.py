"""App-wide security plumbing, installed once by create_app(): browsers that are not logged in
are sent to /login, and every response carries defensive headers."""

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, IntegrityError
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

    # An id or number beyond what the database column holds cannot name anything: a clear 400
    # instead of a 500 (SQLite raises OverflowError at bind time, PostgreSQL a DataError).
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception):
        return JSONResponse({"detail": "a number or value in the request is out of range"}, status_code=400)

    # Safety net: a request that breaks a constraint (duplicate, reference to nothing) is the
    # client's conflict, not a server error; routes should still check and say precisely what.
    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError):
        return JSONResponse({"detail": "the request conflicts with existing data or refers to something "
                                       "that does not exist; check the ids"}, status_code=409)

    _document_error_details(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
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

    app.openapi = openapi
