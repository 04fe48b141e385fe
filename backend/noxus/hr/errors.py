"""HR service errors: the message says what was wrong and what to do; the
routers turn them into 404 / 409 / 422."""


class HRError(ValueError):
    status_code = 422


class NotFound(HRError):
    status_code = 404


class Conflict(HRError):
    status_code = 409


class Locked(Conflict):
    """A change inside a closed month."""
