"""The Alembic migrations build exactly the schema the SQLModel tables declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from noxus.migrations.registry import metadata


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_alembic_history_has_one_head():
    from alembic.script import ScriptDirectory
    from noxus.core.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, (
        f"Alembic history branches: heads {heads}; point the new migration at the single head"
    )
