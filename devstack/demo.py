"""`make run`: everything on this machine — a private Mosquitto, the demo database (migrated and
seeded with two customers, a month of punches and last month's invoices: devstack/seed.py), the
API, an ingest worker and three simulated MicroPython kiosks that keep tapping the customers'
badges. Not part of the production package.

    python -m devstack.demo [--kiosks 3] [--port 8000] [--var var]
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import typer
from rich.console import Console

from devstack.accounts import DEMO_PASSWORD, demo_token
from devstack.broker import Mosquitto, wait_port
from devstack.kiosks import spawn, write_config
from devstack.mailbox import Mailbox

console = Console()
MAIL_EVERY_S = 5  # how often the demo hands the outbox to its mailbox (production: a scheduler)


def _told(to: str, subject: str, path: pathlib.Path, links: list[str]) -> None:
    console.print(f"  mail to {to}: {subject} ({path})")
    for link in links:
        console.print(f"    {link}")


app = typer.Typer(add_completion=False)


@app.command()
def main(kiosks: int = 3, port: int = 8000, var: pathlib.Path = pathlib.Path("var")) -> None:
    """Broker, seeded demo database, API, ingest worker and simulated kiosks; Ctrl-C stops all."""
    var = var.resolve()
    var.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(var / "mosquitto").start()
    mailbox = Mailbox(var / "mail", _told).start()
    env = {
        **os.environ,
        "NOXUS_MQTT_PORT": str(broker.port),
        "NOXUS_SMTP_HOST": "127.0.0.1",
        "NOXUS_SMTP_PORT": str(mailbox.port),
        "NOXUS_DATABASE_URL": os.environ.get("NOXUS_DATABASE_URL", f"sqlite:///{var}/noxus.db"),
        "NOXUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NOXUS_BILLING_DEMO": "true",  # the demo's creditor data are placeholders, and say so
        "NOXUS_COOKIE_SECURE": "false",
    }  # plain http on 127.0.0.1
    os.environ.update(env)
    from noxus.core.db import make_engine
    from noxus.core.migrate import upgrade
    from noxus.core.outbox import deliver
    from noxus.core.settings import get_settings
    from sqlmodel import Session

    from devstack import seed

    get_settings.cache_clear()
    upgrade(env["NOXUS_DATABASE_URL"])
    engine = make_engine(env["NOXUS_DATABASE_URL"])
    try:
        with Session(engine) as s:
            try:
                fresh = seed.seed(s, get_settings())
            except seed.NotADemoDatabase as e:
                console.print(f"[red]{e}[/red]")
                broker.stop()
                mailbox.stop()
                raise typer.Exit(2) from None
            token_file = demo_token(s, var)
    finally:
        engine.dispose()
    procs: list[subprocess.Popen] = []
    noxus = [sys.executable, "-m", "noxus.cli"]
    procs.append(subprocess.Popen([*noxus, "api", "--port", str(port)], env=env))
    procs.append(subprocess.Popen([*noxus, "ingest"], env=env))
    wait_port(port, 90)  # first start imports a lot; slow on a loaded machine
    for n, (kiosk_id, (key, _site)) in enumerate(list(seed.KIOSKS.items())[:kiosks], start=1):
        cfg = write_config(
            var / "kiosks" / kiosk_id,
            kiosk_id,
            broker.port,
            uids=seed.live_badges(key),
            kiosk_no=n,
            poll_ms=50,
            gap_polls=40 + 20 * n,
            telemetry_ms=10000,
        )
        procs.append(spawn(cfg))
    console.rule("[bold]NoxusTime demo running" + ("" if fresh else " (demo data already there)"))
    accounts = "\n".join(
        f"              {u:<12} {role:<11} {seed.CUSTOMERS[k]['name'] if k else 'NOXUS'}"
        for u, role, k, _n, _l in seed.ACCOUNTS
    )
    console.print(
        f"  web UI      http://127.0.0.1:{port}/\n  API docs    http://127.0.0.1:{port}/docs\n"
        f"  broker      mosquitto on 127.0.0.1:{broker.port} "
        f"(mosquitto_sub -p {broker.port} -t 'noxus/v1/#' -v)\n"
        f"  database    {env['NOXUS_DATABASE_URL']}\n"
        f"  mail        every mail the backend sends is kept in {var / 'mail'} (its links shown here)\n"
        f"  log in      password {DEMO_PASSWORD} for every account (API token of 'demo' in {token_file}):\n"
        f"{accounts}\n"
        "  Ctrl-C stops everything."
    )
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    # Ctrl-C stops the demo even when it was started from a script or CI job that runs it in
    # the background: such a parent leaves SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    engine = make_engine(env["NOXUS_DATABASE_URL"])
    next_mail = 0.0
    try:
        while not stop and all(p.poll() is None for p in procs):
            if time.monotonic() >= next_mail:
                with Session(engine) as s:
                    deliver(s, get_settings())
                next_mail = time.monotonic() + MAIL_EVERY_S
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
        mailbox.stop()
        console.print("stopped.")


if __name__ == "__main__":
    app()
