"""The backend as a separate process, as production runs it: the tests that drive it from a
browser or a kiosk start it with this command (their environment chooses the database)."""

import sys


def uvicorn_command(port: int, *extra: str) -> list[str]:
    """`python -m uvicorn noxus.main:app` on 127.0.0.1:`port`, warnings only; `extra`: more
    uvicorn options (TLS files)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "noxus.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *extra,
    ]
