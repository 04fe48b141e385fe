"""Banners carried across a redirect (`?err=…`, `?msg=…`) are shown only when
this server wrote them: each value travels with an HMAC (`err_sig`), so a
link crafted elsewhere (`/hr/employees?err=Call+0900…`) shows nothing of its
own choosing. Message keys (a short identifier a page translates) need no
signature: `read` returns them as they are only when the page knows the key."""

import hashlib
import hmac
import secrets

from starlette.requests import Request

from noxus.core.settings import get_settings

_PROCESS_KEY = secrets.token_bytes(32)


def _key() -> bytes:
    secret = get_settings().flash_secret
    return secret.encode() if secret else _PROCESS_KEY


def _sig(name: str, text: str) -> str:
    return hmac.new(_key(), f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()[:32]


def params(**values: str | None) -> dict[str, str]:
    """Query parameters for a redirect: each non-empty value and its signature."""
    out = {}
    for name, text in values.items():
        if text:
            out[name] = text
            out[f"{name}_sig"] = _sig(name, text)
    return out


def read(request: Request, name: str) -> str | None:
    """The banner `name` if this server signed it, else None."""
    text = request.query_params.get(name)
    sig = request.query_params.get(f"{name}_sig", "")
    if not text or not hmac.compare_digest(sig, _sig(name, text)):
        return None
    return text
