"""`noxus fleet …`: periodic fleet checks (run by a systemd timer)."""

import time

import typer
from rich.console import Console

app = typer.Typer(help="Fleet monitoring", no_args_is_help=True)
console = Console()


@app.command("sweep")
def sweep(every: int = typer.Option(0, help="repeat every N seconds (0: once)")) -> None:
    """Mark silent kiosks offline, raise offline alerts, fold old telemetry."""
    from sqlmodel import Session

    from noxus.core.db import get_engine
    from noxus.core.settings import get_settings
    from noxus.core.types import utcnow
    from noxus.fleet.monitor import sweep as run_sweep

    while True:
        with Session(get_engine()) as session:
            result = run_sweep(session, utcnow(), get_settings())
            session.commit()
        console.print(" ".join(f"{k}={v}" for k, v in result.items()))
        if not every:
            return
        time.sleep(every)
