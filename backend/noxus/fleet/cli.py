"""`noxus fleet …`: periodic fleet checks (run by a systemd timer), and what staff do from a kiosk's
page — send a command, set the expected firmware — through the same functions, audited."""

import time
from typing import NoReturn

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


# --- what staff do from a kiosk's page, for scripts ------------------------------------------------


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


def _kiosk(session, kiosk_id: str):
    from noxus.fleet.models import Kiosk

    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        _fail(f"kiosk {kiosk_id} is not in the register: add it with `noxus kiosk add {kiosk_id}`")
    return kiosk


@app.command("command")
def command(
    kiosk_id: str,
    name: str = typer.Argument(..., help="reboot | enroll (next tap enrolls a badge) | push_config"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
) -> None:
    """Send a command to a kiosk over MQTT, as its page does (audited with who sent it)."""
    from noxus.core.db import new_session
    from noxus.core.settings import get_settings
    from noxus.fleet import commands

    if name not in commands.COMMANDS:
        _fail(f"unknown command {name!r}: use one of {', '.join(commands.COMMANDS)}")
    settings = get_settings()
    with new_session() as session:
        kiosk = _kiosk(session, kiosk_id)
        if not yes:
            typer.confirm(f"send {name} to kiosk {kiosk.id}?", abort=True)
        try:
            cmd_id = commands.send(
                session, settings, kiosk, name, _actor(), commands.site_zone(session, kiosk, settings)
            )
        except commands.CommandError as e:
            session.rollback()
            console.print(f"[red]the command could not be sent: {e}[/red]")
            raise typer.Exit(1) from None
        session.commit()
    console.print(f"{name} sent to kiosk [bold]{kiosk_id}[/bold] (id {cmd_id})")


@app.command("firmware")
def firmware(
    kiosk_id: str,
    target: str = typer.Option("", "--target", help="the version it should run (empty: any)"),
    sha256: str = typer.Option("", "--sha256", help="the image's SHA-256 (hexadecimal)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
) -> None:
    """Set the firmware a kiosk should run, as its page does: a kiosk reporting another version
    raises a firmware alert (audited)."""
    from pydantic import ValidationError

    from noxus.core.db import new_session
    from noxus.fleet import commands
    from noxus.web.forms import errors_by_field

    try:
        wanted = commands.FirmwareTarget(firmware_target=target or None, firmware_target_hash=sha256 or None)
    except ValidationError as e:
        _fail("; ".join(f"{k}: {v}" for k, v in errors_by_field(e).items()))
    with new_session() as session:
        kiosk = _kiosk(session, kiosk_id)
        if not yes:
            typer.confirm(
                f"kiosk {kiosk.id} should run firmware {wanted.firmware_target or 'any'}?", abort=True
            )
        commands.set_firmware_target(session, kiosk, wanted, _actor())
        session.commit()
        mismatch = kiosk.firmware and wanted.firmware_target and kiosk.firmware != wanted.firmware_target
    console.print(
        f"kiosk [bold]{kiosk_id}[/bold] should run {wanted.firmware_target or 'any firmware'}"
        + (f" (it reports {kiosk.firmware}: firmware alert raised)" if mismatch else "")
    )
