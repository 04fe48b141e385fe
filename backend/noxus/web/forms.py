"""Forms for people: validation errors as one translated message per field, the typed values kept.

A page handler validates its form with a Pydantic schema; on failure it re-renders the same
template with `errors` (field -> message) and `values` (what was typed), status 422.
No Pydantic text reaches the page: each error type maps to a sentence of the catalogs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from noxus.core.i18n import gettext as _


def field_message(error: Mapping[str, Any]) -> str:
    """One Pydantic error as a sentence in the page's language."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("This field is required.")
    if kind == "string_too_short":
        return _("At least %(n)s characters.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return _("The format is not valid.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "decimal_parsing", "float_type", "decimal_type"):
        return _("Enter a number, for example 120.50.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return _("Enter a date as dd.mm.yyyy.")
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return _("Enter a date and time as dd.mm.yyyy hh:mm.")
    if kind in ("enum", "literal_error"):
        return _("Choose one of the proposed values.")
    if kind == "bool_parsing":
        return _("Choose yes or no.")
    if kind == "value_error":
        # our own validators raise ValueError(PageError-like text already translated)
        msg = str(ctx.get("error", "")) or _("This value is not valid.")
        return msg
    return _("This value is not valid.")


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "form")]
        field = loc[0] if loc else "__all__"
        out.setdefault(field, field_message(err))
    return out


def blank_to_none(data: Mapping[str, Any]) -> dict[str, Any]:
    """Browsers send empty strings for empty inputs: text is trimmed and an empty (or whitespace-only)
    field is left out, so a required field says "required" and an optional one takes its default."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, str):
            v = v.strip()
            if v == "":
                continue
        out[k] = v
    return out


M = TypeVar("M", bound=BaseModel)


def validate_form(schema: type[M], data: Mapping[str, Any]) -> tuple[M | None, dict[str, str]]:
    """(model, {}) when valid, else (None, field -> message)."""
    try:
        return schema.model_validate(blank_to_none(data)), {}
    except ValidationError as exc:
        return None, errors_by_field(exc)
