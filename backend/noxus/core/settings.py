"""All configuration, read once from the environment (NOXUS_*) or .env."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOXUS_", env_file=".env", extra="ignore")

    # SQLite (WAL) is the embedded default; PostgreSQL by URL, e.g.
    # postgresql+psycopg://user@127.0.0.1:5432/noxus
    database_url: str = "sqlite:///var/noxus.db"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None

    # Each ingest worker needs its own client id (its persistent session);
    # all workers share one subscription group, so the broker spreads batches.
    ingest_client_id: str = "noxus-ingest-1"
    ingest_share_group: str = "ingest"
    ingest_max_messages: int = 500  # MQTT messages committed in one transaction
    ingest_accept_unknown_kiosks: bool = False

    timezone: str = "Europe/Zurich"


@lru_cache
def get_settings() -> Settings:
    return Settings()
