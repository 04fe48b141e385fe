"""The demo's mailbox: a local SMTP server (aiosmtpd) that keeps every mail the backend sends
as an `.eml` file, so whoever tries `make run` can follow a mail to its end — open the one-time
link of an invitation (the outbox pages never show it: docs/security.md), read an invoice mail
and its PDF. Not part of the production package.
"""

import email
import itertools
import pathlib
import re
import socket
from collections.abc import Callable
from email import policy

from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://\S+")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def links(raw: bytes) -> list[str]:
    """The links in a mail's plain-text body (decoded from its transfer encoding)."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(preferencelist=("plain",))
    return _LINK.findall(body.get_content()) if body is not None else []


class _Keep:
    def __init__(self, folder: pathlib.Path, told: Callable[[str, str, pathlib.Path, list[str]], None]):
        self.folder = folder
        self.told = told
        # numbered after what an earlier run kept: a restarted demo never overwrites a mail
        self.count = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        raw = envelope.content
        subject = email.message_from_bytes(raw, policy=policy.default).get("Subject", "")
        path = self.folder / f"{next(self.count):04d}.eml"
        path.write_bytes(raw)
        self.told(", ".join(envelope.rcpt_tos), str(subject), path, links(raw))
        return "250 OK"


class Mailbox:
    """`Mailbox(folder, told).start()` -> listening on 127.0.0.1:`port`; `stop()`."""

    def __init__(self, folder: pathlib.Path, told: Callable[[str, str, pathlib.Path, list[str]], None]):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self._controller = Controller(_Keep(folder, told), hostname="127.0.0.1", port=self.port)

    def start(self) -> "Mailbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
