"""The demo's administrator: `noxus demo` runs on a throw-away database, so it creates a known
account and a token (written next to the database) to log in and to script against."""

import pathlib

from sqlmodel import Session

from noxus.core import accounts
from noxus.core.db import make_engine
from noxus.core.users import UserCreate

DEMO_USER = "demo"
DEMO_PASSWORD = "noxus-demo-password"  # demo databases only; never a production account


def ensure_demo_admin(database_url: str, var: pathlib.Path) -> pathlib.Path:
    """Create (once) the demo admin and a bearer token; returns the token file."""
    token_file = var / "demo-token.txt"
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            user = accounts.get_user(s, DEMO_USER) or accounts.create_user(
                s, UserCreate(username=DEMO_USER, full_name="Demo administrator", role="admin",
                              password=DEMO_PASSWORD))
            if not token_file.exists():
                _, raw = accounts.create_token(s, user, "demo", days=30)
                token_file.write_text(raw + "\n")
                token_file.chmod(0o600)
            s.commit()
    finally:
        engine.dispose()
    return token_file
