"""`noxus` — run and administer the backend."""

import logging
import pathlib
import signal
import subprocess
import sys
import time

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
        raise typer.Exit(2)
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
        from noxus.ingest.nats_worker import NatsIngestWorker as IngestWorker
    else:
        from noxus.ingest.worker import IngestWorker
    worker = IngestWorker(settings, get_engine())
    worker.install_signal_handlers()
    worker.run()


@app.command()
def demo(kiosks: int = 3, port: int = 8000, var: pathlib.Path = pathlib.Path("var")) -> None:
    """Everything on this machine: a private Mosquitto, the database, the API,
    an ingest worker and simulated MicroPython kiosks tapping demo badges."""
    import os

    from noxus.core.migrate import upgrade
    from noxus.devstack.broker import Mosquitto, wait_port
    from noxus.devstack.kiosks import spawn, write_config

    var = var.resolve()
    broker = Mosquitto(var / "mosquitto").start()
    env = {**os.environ, "NOXUS_MQTT_PORT": str(broker.port),
           "NOXUS_DATABASE_URL": os.environ.get("NOXUS_DATABASE_URL", f"sqlite:///{var}/noxus.db"),
           "NOXUS_COOKIE_SECURE": "false",  # plain http on 127.0.0.1
           # obviously fake creditor data: billing refuses placeholders unless NOXUS_DEMO (billing/config.py)
           "NOXUS_DEMO": "1", "NOXUS_BILLING_CREDITOR_NAME": "DEMO NoxusTime (not a real creditor) SàRL",
           "NOXUS_BILLING_VAT_NUMBER": "CHE-000.000.000 MWST (DEMO)"}
    os.environ.update(env)
    get_settings.cache_clear()
    upgrade(env["NOXUS_DATABASE_URL"])
    from noxus.auth.demo import DEMO_PASSWORD, DEMO_USER, ensure_demo_admin

    token_file = ensure_demo_admin(env["NOXUS_DATABASE_URL"], var)
    procs: list[subprocess.Popen] = []
    noxus = [sys.executable, "-m", "noxus.cli"]
    for n in range(1, kiosks + 1):
        subprocess.run([*noxus, "kiosk", "add", f"DEMO-{n}", "--name", f"Demo kiosk {n}"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    procs.append(subprocess.Popen([*noxus, "api", "--port", str(port)], env=env))
    procs.append(subprocess.Popen([*noxus, "ingest"], env=env))
    wait_port(port, 90)  # first start imports a lot; slow on a loaded machine
    for n in range(1, kiosks + 1):
        cfg = write_config(var / "kiosks" / f"DEMO-{n}", f"DEMO-{n}", broker.port, uids="demo",
                           kiosk_no=n, poll_ms=50, gap_polls=40 + 20 * n, telemetry_ms=10000)
        procs.append(spawn(cfg))
    console.rule("[bold]NoxusTime demo running")
    console.print(f"  web UI      http://127.0.0.1:{port}/\n  API docs    http://127.0.0.1:{port}/docs\n"
                  f"  broker      mosquitto on 127.0.0.1:{broker.port} "
                  f"(mosquitto_sub -p {broker.port} -t 'noxus/v1/#' -v)\n"
                  f"  database    {env['NOXUS_DATABASE_URL']}\n"
                  f"  log in      {DEMO_USER} / {DEMO_PASSWORD}   (API token in {token_file})\n"
                  "  Ctrl-C stops everything.")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
        console.print("stopped.")


if __name__ == "__main__":
    app()
