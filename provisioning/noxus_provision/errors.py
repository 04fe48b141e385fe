"""Errors the technician sees: each says what went wrong and what to do next."""


class ProvisionError(Exception):
    """A failure with a message fit for the technician (no traceback shown)."""

    exit_code = 1


class BoardGone(ProvisionError):
    """The serial link died: cable unplugged, board reset, or another program took the port."""

    exit_code = 3


class WrongBoard(ProvisionError):
    exit_code = 4


class BackendRefused(ProvisionError):
    exit_code = 5
