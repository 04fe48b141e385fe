"""The demo's API token: `make run` writes one for the demo administrator next to the database,
to script against (README). The accounts themselves are seeded by devstack/seed.py."""

import pathlib

from noxus.core import accounts
from sqlmodel import Session

from devstack.seed import PASSWORD as DEMO_PASSWORD

DEMO_USER = "demo"
__all__ = ["DEMO_PASSWORD", "DEMO_USER", "demo_token"]


def demo_token(session: Session, var: pathlib.Path) -> pathlib.Path:
    """Create (once) a bearer token for the demo administrator; returns the token file."""
    token_file = var / "demo-token.txt"
    user = accounts.get_user(session, DEMO_USER)
    if user is not None and not token_file.exists():
        _, raw = accounts.create_token(session, user, "demo", days=30)
        session.commit()
        token_file.write_text(raw + "\n")
        token_file.chmod(0o600)
    return token_file
