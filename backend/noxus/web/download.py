"""Content-Disposition for downloads, per RFC 6266 with the RFC 5987/8187
`filename*` parameter: a file name built from data (a personnel number, an
invoice number) can hold quotes, semicolons, line breaks or non-Latin-1
text; none of it may break the header or the response."""

import re
import unicodedata
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._\-+()\[\] ]")


def ascii_fallback(name: str) -> str:
    """A plain-ASCII file name for old clients: accents stripped, anything
    else that could need quoting replaced by '_'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = _UNSAFE_ASCII.sub("_", plain).strip(" .")
    return plain[:150] or "download"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """`attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`."""
    return (
        f"{disposition}; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
