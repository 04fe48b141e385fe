"""noxus-provision: the technician's command line (docs/provisioning.md).

Secrets (token, Wi-Fi and MQTT passwords) come from the environment or a
hidden prompt and are never printed."""

import functools
import pathlib
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from noxus_provision import badge as badge_mod
from noxus_provision import flash as flash_mod
from noxus_provision import kioskconfig, ports
from noxus_provision import pi as pi_mod
from noxus_provision.api import Backend
from noxus_provision.board import Board
from noxus_provision.enroll import EnrollRequest
from noxus_provision.enroll import enroll as run_enroll
from noxus_provision.errors import ProvisionError
from noxus_provision.fileset import PORTS, firmware_files
from noxus_provision.install import install as run_install

app = typer.Typer(
    help="Turn a blank Pico W or Raspberry Pi into an enrolled NoxusTime kiosk; enroll badges.",
    no_args_is_help=True,
    add_completion=False,
)
pi_app = typer.Typer(help="Raspberry Pi kiosks.", no_args_is_help=True)
badge_app = typer.Typer(help="Badges.", no_args_is_help=True)
claim_app = typer.Typer(
    help="Claim codes: kiosks installed without a technician token.", no_args_is_help=True
)
app.add_typer(pi_app, name="pi")
app.add_typer(badge_app, name="badge")
app.add_typer(claim_app, name="claim")
console = Console(highlight=False, soft_wrap=True)  # messages are copied into tickets: no hard wraps

Api = Annotated[str, typer.Option("--api", envvar="NOXUS_API", help="backend URL")]
Token = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="NOXUS_TOKEN",
        show_default=False,
        prompt=True,
        hide_input=True,
        help="your bearer token (better: NOXUS_TOKEN)",
    ),
]
Device = Annotated[str | None, typer.Option("--device", "-d", help="serial port; default: the only board")]
Port = Annotated[str, typer.Option("--port", help=f"firmware port: {', '.join(PORTS)}")]
Brokers = Annotated[
    list[str] | None,
    typer.Option(
        "--broker",
        help="HOST[:PORT] of a broker node, repeated once per node of a cluster (kiosk.json "
        "broker.nodes); default: the backend's list (NOXUS_KIOSK_MQTT_NODES)",
        show_default=False,
    ),
]


def friendly(fn):
    """Technician-facing errors: one red line saying what to do, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ProvisionError as e:
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            console.print(
                "\n[yellow]interrupted.[/] Nothing half-done is kept on the board (files land "
                "under .part and are renamed when complete): rerun the same command to continue."
            )
            raise typer.Exit(130) from None

    return wrapper


def pick_device(device: str | None) -> str:
    if device:
        return device
    boards = ports.serial_boards()
    if len(boards) == 1:
        return boards[0].device
    if not boards:
        boot = ports.bootsel_drives()
        hint = (
            " A Pico is in BOOTSEL mode: flash MicroPython first (`noxus-provision flash FILE.uf2`)."
            if boot
            else " Plug the Pico W in with a data USB cable."
        )
        raise ProvisionError("no MicroPython board found." + hint)
    raise ProvisionError(
        "several boards are plugged in (" + ", ".join(b.device for b in boards) + "): pick one with --device"
    )


# --- list / flash / install ---------------------------------------------------------------------


@app.command("list")
@friendly
def list_cmd(all_ports: Annotated[bool, typer.Option("--all", help="also other USB serial ports")] = False):
    """USB boards: MicroPython Picos (2E8A:0005) and Picos in BOOTSEL mode (2E8A:0003)."""
    found = ports.serial_boards(include_other=all_ports) + ports.bootsel_drives()
    if not found:
        console.print("no board found: plug a Pico W in (hold BOOTSEL for a blank one)")
        return
    t = Table("kind", "device / drive", "unique ID", "description")
    for f in found:
        t.add_row(f.kind, f.device or "-", f.serial_number or "-", f.description)
    console.print(t)


@app.command()
@friendly
def flash(
    uf2: Annotated[pathlib.Path, typer.Argument(exists=True, dir_okay=False, help="MicroPython .uf2")],
    drive: Annotated[pathlib.Path | None, typer.Option(help="the RPI-RP2 drive; default: found")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the serial port")] = 60.0,
):
    """Copy a MicroPython .uf2 to a Pico in BOOTSEL mode and wait for it to come back."""
    family = flash_mod.check_uf2(uf2)
    target = flash_mod.find_drive(drive)
    before = {b.device for b in ports.serial_boards()}
    with Progress(
        TextColumn("copying {task.description}"), BarColumn(), DownloadColumn(), console=console
    ) as prog:
        task = prog.add_task(f"{uf2.name} ({family}) to {target}", total=uf2.stat().st_size)
        flash_mod.copy_uf2(uf2, target, lambda done, total: prog.update(task, completed=done))
    with console.status("waiting for the board to restart as MicroPython..."):
        board = flash_mod.wait_for_board(before, timeout)
    console.print(
        f"[green]flashed:[/] MicroPython on {board.device} (unique ID {board.serial_number or '?'})"
    )


def _install(device: str, port: str, mpy: bool) -> None:
    files = firmware_files(port, mpy=mpy)
    with (
        Board(device) as board,
        Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console, transient=True
        ) as prog,
    ):
        task = prog.add_task("comparing hashes", total=None)

        def on_file(path, i, count):
            prog.update(task, description=f"[{i + 1}/{count}] {path}", completed=0, total=None)

        def on_bytes(done, total):
            prog.update(task, completed=done, total=total)

        report = run_install(board, files, on_file=on_file, on_bytes=on_bytes)
    console.print(
        f"[green]installed:[/] {len(report.written)} file(s) written, {len(report.unchanged)} "
        f"unchanged, {len(report.removed)} removed; all {len(files)} verified by hash on the board"
    )


@app.command()
@friendly
def install(
    device: Device = None,
    port: Port = "pico",
    mpy: Annotated[bool, typer.Option(help="compile the firmware to .mpy (less RAM)")] = False,
):
    """Put the firmware on the board: only files whose hash differs, then verify."""
    _install(pick_device(device), port, mpy)


# --- enroll -------------------------------------------------------------------------------------


@app.command()
@friendly
def enroll(
    site: Annotated[int, typer.Option(help="the site id the kiosk is installed at")],
    api: Api,
    token: Token,
    device: Device = None,
    port: Port = "pico",
    customer: Annotated[int | None, typer.Option(help="the customer id (checked against the site)")] = None,
    kiosk_id: Annotated[str | None, typer.Option(help="default: nx-<unique id>")] = None,
    name: Annotated[str, typer.Option(help="a name staff recognise, e.g. 'Entrée atelier'")] = "",
    wifi_ssid: Annotated[str | None, typer.Option(envvar="NOXUS_WIFI_SSID")] = None,
    wifi_password: Annotated[
        str | None,
        typer.Option(envvar="NOXUS_WIFI_PASSWORD", show_default=False, help="better: NOXUS_WIFI_PASSWORD"),
    ] = None,
    expect_uid: Annotated[str | None, typer.Option(help="refuse any other board")] = None,
    skip_install: Annotated[bool, typer.Option(help="do not check/install the firmware")] = False,
    mpy: Annotated[bool, typer.Option(help="install the firmware as .mpy")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the kiosk to come online")] = 120.0,
    broker: Brokers = None,
):
    """Install, register the board at the site, mint its MQTT account, configure, reboot, wait online."""
    brokers = kioskconfig.parse_brokers(broker)  # a typo refused before anything is minted
    dev = pick_device(device)
    if wifi_ssid and wifi_password is None:
        wifi_password = typer.prompt(f"Wi-Fi password for {wifi_ssid}", hide_input=True)
    if not skip_install:
        _install(dev, port, mpy)
    backend = Backend(api, token)
    try:
        with console.status("enrolling...") as status:

            def say(text):
                console.print(f"  {text}")
                status.update(text)

            state = run_enroll(
                EnrollRequest(
                    dev,
                    site,
                    customer,
                    kiosk_id,
                    name,
                    port,
                    wifi_ssid,
                    wifi_password,
                    expect_uid,
                    timeout,
                    brokers,
                ),
                backend,
                say,
            )
    finally:
        backend.close()
    console.print(
        f"[green]online:[/] kiosk {state['kiosk_id']} (board {state['board_uid']}, boot "
        f"{state.get('boot')}, firmware {state.get('fw', '?')})"
    )


@app.command()
@friendly
def retire(kiosk_id: str, api: Api, token: Token):
    """Revoke a kiosk's MQTT account (retrieved, replaced or stolen kiosk)."""
    backend = Backend(api, token)
    try:
        backend.revoke(kiosk_id)
    finally:
        backend.close()
    console.print(f"kiosk {kiosk_id} can no longer connect; record its retrieval in the fleet register")


# --- claim codes --------------------------------------------------------------------------------


@claim_app.command("list")
@friendly
def claim_list(api: Api, token: Token):
    """Kiosks waiting with a claim code."""
    backend = Backend(api, token)
    try:
        rows = backend.claims()
    finally:
        backend.close()
    t = Table("board", "model", "since", "expires")
    for c in rows:
        t.add_row(c["board_uid"], c["model"], c["created_at"], c["expires_at"])
    console.print(t)


@claim_app.command("approve")
@friendly
def claim_approve(
    code: str,
    site: Annotated[int, typer.Option()],
    api: Api,
    token: Token,
    customer: Annotated[int | None, typer.Option()] = None,
    name: Annotated[str, typer.Option()] = "",
):
    """Approve the kiosk showing CODE at a site; it fetches its credentials once."""
    backend = Backend(api, token)
    try:
        claim = backend.approve_claim(code, site, customer, name)
    finally:
        backend.close()
    console.print(
        f"[green]approved:[/] board {claim['board_uid']} is kiosk {claim['kiosk_id']}; it picks "
        "up its credentials at its next poll"
    )


@claim_app.command("prepare")
@friendly
def claim_prepare(
    api: Api,
    device: Device = None,
    port: Port = "pico",
    wifi_ssid: Annotated[str | None, typer.Option(envvar="NOXUS_WIFI_SSID")] = None,
    wifi_password: Annotated[
        str | None, typer.Option(envvar="NOXUS_WIFI_PASSWORD", show_default=False)
    ] = None,
    api_ca: Annotated[
        pathlib.Path | None,
        typer.Option(help="PEM of the CA that signed the API's certificate; the kiosk pins it"),
    ] = None,
):
    """Write a claim configuration (backend URL, Wi-Fi, a fresh code, the API's CA) for an
    installer without a token."""
    from noxus_provision import claim as claim_mod

    if api.startswith("https://") and api_ca is None:
        raise ProvisionError(
            "the kiosk pins the CA of the API's certificate: pass --api-ca FILE (PEM; for a "
            "Let's Encrypt certificate, ISRG Root X1), see docs/provisioning.md"
        )
    ca = api_ca.read_bytes() if api_ca is not None else None
    dev = pick_device(device)
    with Board(dev) as board:
        code = claim_mod.prepare(board, api, wifi_ssid, wifi_password, port, ca)
    console.print(
        f"claim code [bold]{code}[/]: the kiosk shows it too; staff approve it with "
        f"`noxus-provision claim approve {code} --site N` or in the web UI"
    )


# --- Raspberry Pi -------------------------------------------------------------------------------


@pi_app.command("install")
@friendly
def pi_install(
    host: Annotated[str | None, typer.Option(help="user@pi over SSH; default: this machine")] = None,
    config: Annotated[pathlib.Path | None, typer.Option(help="a kiosk.json made elsewhere")] = None,
    site: Annotated[int | None, typer.Option(help="enroll at this site (needs --api, token)")] = None,
    name: Annotated[str, typer.Option(help="a name staff recognise")] = "",
    api: Annotated[str | None, typer.Option("--api", envvar="NOXUS_API")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="NOXUS_TOKEN", show_default=False)] = None,
    root: Annotated[pathlib.Path, typer.Option(help="install under this prefix (tests)")] = pathlib.Path("/"),
    systemd: Annotated[bool, typer.Option(help="enable and (re)start the unit")] = True,
    pip: Annotated[bool, typer.Option(help="pip install the kiosk's dependencies")] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the kiosk online")] = 120.0,
    broker: Brokers = None,
):
    """Install the kiosk on a Raspberry Pi: venv, firmware, config, systemd unit. Rerunnable.
    With --site it also enrolls the Pi (serial number, MQTT account) and waits for it online."""
    brokers = kioskconfig.parse_brokers(broker)
    if brokers and site is None:
        raise ProvisionError("--broker goes with --site (it is written into the kiosk.json enroll makes)")
    runner = pi_mod.SshRunner(host) if host else pi_mod.LocalRunner(root)
    cfg: pathlib.Path | bytes | None = config
    backend = None
    if site is not None:
        if not api or not token:
            raise ProvisionError("enrolling needs the backend: set NOXUS_API and NOXUS_TOKEN")
        backend = Backend(api, token)
        serial = pi_mod.board_serial(runner)
        enrolled = backend.enroll(serial, site, None, None, name, "pi")
        console.print(
            f"  registered Raspberry Pi {serial} as kiosk {enrolled['kiosk_id']}; MQTT account minted"
        )
        not_boot = (backend.state(enrolled["kiosk_id"]) or {}).get("boot")
        cfg = pi_mod.kiosk_config(enrolled, brokers)
    try:
        for step, changed in pi_mod.install(runner, cfg, systemd=systemd, pip=pip):
            console.print(f"  {'[green]done[/]   ' if changed else '[dim]already[/]'} {step}")
        if backend is not None and systemd:
            with console.status("waiting for the kiosk's birth message..."):
                state = _wait_online(backend, enrolled["kiosk_id"], not_boot, timeout)
            console.print(f"[green]online:[/] kiosk {enrolled['kiosk_id']} (boot {state.get('boot')})")
    finally:
        if backend is not None:
            backend.close()
    console.print("[green]Raspberry Pi kiosk installed[/]")


def _wait_online(backend: Backend, kiosk_id: str, not_boot: int | None, timeout: float) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = backend.birth(kiosk_id, not_boot, min(15.0, max(1.0, deadline - time.monotonic())))
        if state is not None:
            return state
    raise ProvisionError(
        f"kiosk {kiosk_id} did not come online within {timeout:.0f} s: "
        "`journalctl -u noxus-kiosk` on the Pi says why; fix it and rerun"
    )


# --- badges -------------------------------------------------------------------------------------


@badge_app.command("enroll")
@friendly
def badge_enroll(
    employee: Annotated[int, typer.Option(help="the employee id")],
    api: Api,
    token: Token,
    kiosk: Annotated[str | None, typer.Option(help="take the next tap on this kiosk")] = None,
    desk: Annotated[bool, typer.Option(help="read a USB keyboard-wedge desk reader")] = False,
    timeout: Annotated[float, typer.Option()] = 60.0,
):
    """Bind a badge to an employee: the next tap on a kiosk, or a desk reader typing the UID."""
    if bool(kiosk) == desk:
        raise ProvisionError("say where the badge is read: --kiosk KIOSK_ID or --desk")
    backend = Backend(api, token)
    try:
        if desk:
            console.print("tap the badge on the desk reader (or type its UID and press Enter)...")
            uid = badge_mod.read_wedge(input)
        else:
            with console.status(f"kiosk {kiosk} is in enrollment mode: tap the badge on it..."):
                uid = badge_mod.next_kiosk_tap(backend, kiosk, timeout)
        badge = backend.assign_badge(uid, employee)
    finally:
        backend.close()
    console.print(f"[green]badge {uid}[/] now belongs to employee {employee} (badge #{badge.get('id')})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
