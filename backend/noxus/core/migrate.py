"""Bring a database to the latest schema (Alembic), from code: `noxus db upgrade`."""

import pathlib

from alembic import command
from alembic.config import Config

MIGRATIONS = pathlib.Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    # One linear history (tests/test_migrations.py checks there is a single head).
    command.upgrade(alembic_config(url), "head")
