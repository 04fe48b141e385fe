"""`noxus` — run and administer the backend."""

import logging

import typer
from rich.console import Console

# Every table in the metadata before the first flush: foreign keys across contexts
# (kiosk -> customer) resolve by table name.
import noxus.migrations.registry  # noqa: F401
from noxus.core.settings import get_settings

app = typer.Typer(help="NoxusTime backend", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
kiosk_app = typer.Typer(help="Kiosk register")
app.add_typer(db_app, name="db")
app.add_typer(kiosk_app, name="kiosk")
from noxus.auth.cli import register as register_security

register_security(app)  # user, token
from noxus.privacy.cli import register as register_privacy

register_privacy(app)  # audit, privacy, backup, restore
from noxus.fleet.cli import app as fleet_app

app.add_typer(fleet_app, name="fleet")
from noxus.hr.cli import app as hr_app

app.add_typer(hr_app, name="hr")
from noxus.billing.cli import app as billing_app

app.add_typer(billing_app, name="billing")
from noxus.billing import state as billing_state
from noxus.core import restrictions

restrictions.register(billing_state.refusal)  # `noxus hr export/payroll` refused for a suspended customer
from noxus.tenancy.cli import register as register_tenancy

register_tenancy(app)  # customer, site
console = Console()


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (NOXUS_DATABASE_URL) to the latest schema."""
    from noxus.core.migrate import upgrade

    upgrade(get_settings().database_url)
    console.print("[green]database is up to date[/green]")


@kiosk_app.command("add")
def kiosk_add(kiosk_id: str, name: str = "") -> None:
    """Register a kiosk so that its punches are accepted."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from noxus.core.db import get_engine
    from noxus.fleet import service
    from noxus.fleet.models import KioskCreate

    try:
        data = KioskCreate(id=kiosk_id, name=name)
    except ValidationError:
        console.print(f"[red]kiosk id {kiosk_id!r} must be 1-32 letters, digits, '-' or '_'[/red]")
        raise typer.Exit(2) from None
    with Session(get_engine()) as session:
        service.register(session, data)
        session.commit()
    console.print(f"kiosk [bold]{kiosk_id}[/bold] registered")


@app.command()
def api(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the web UI and the API."""
    import uvicorn

    uvicorn.run("noxus.main:app", host=host, port=port, log_level="info")


@app.command()
def ingest() -> None:
    """Run one ingest worker (run several with distinct NOXUS_INGEST_CLIENT_ID)."""
    from noxus.core.db import get_engine

    _logging()
    settings = get_settings()
    if settings.ingest_broker == "nats":
        from noxus.ingest.nats_worker import NatsIngestWorker

        nats = NatsIngestWorker(settings, get_engine())
        nats.install_signal_handlers()
        nats.run()
    else:
        from noxus.ingest.worker import IngestWorker

        mqtt = IngestWorker(settings, get_engine())
        mqtt.install_signal_handlers()
        mqtt.run()


if __name__ == "__main__":
    app()
