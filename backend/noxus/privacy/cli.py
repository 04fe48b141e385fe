"""Privacy commands of `noxus`: the audit log (verify, export, head), retention, backup and restore."""

import json
import pathlib
from typing import Annotated

import typer
from rich.console import Console

from noxus.core.db import new_session
from noxus.core.settings import get_settings

console = Console()
audit_app = typer.Typer(help="The hash-chained audit log", no_args_is_help=True)
privacy_app = typer.Typer(help="Data protection jobs", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the chain; exit status 1 and the first bad entry if it was tampered with."""
    from noxus.core import audit

    with new_session() as s:
        r = audit.verify(s)
        _n, head = audit.head(s)
    if r.ok:
        typer.echo(f"audit chain intact: {r.checked} entries, head {head}")
    else:
        typer.echo(f"audit chain BROKEN after {r.checked} good entries: {r.problem}", err=True)
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    out: pathlib.Path, fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv"
) -> None:
    """Write the whole chain (with hashes) to a file."""
    from noxus.core import audit

    with new_session() as s:
        entries = list(audit.iter_entries(s))
    if fmt == "json":
        out.write_text(json.dumps(audit.export_rows(entries), ensure_ascii=False, indent=1))
    else:
        out.write_text(audit.export_csv(entries))
    console.print(f"{len(entries)} entries written to {out}")


@audit_app.command("head")
def audit_head() -> None:
    """Print the entry count and newest hash: keep it outside the database (detects truncation)."""
    from noxus.core import audit

    with new_session() as s:
        n, head = audit.head(s)
    typer.echo(f"{n} {head}")


@privacy_app.command("retention")
def privacy_retention(
    out: Annotated[pathlib.Path, typer.Option(help="where contract-end bundles go")] = pathlib.Path(
        "var/exports"
    ),
) -> None:
    """Delete time records past each customer's retention; handle ended contracts."""
    from noxus.privacy import retention

    with new_session() as s:
        rep = retention.run(s, get_settings(), out_dir=out)
        s.commit()
    for cid, res in rep.customers.items():
        console.print(f"customer {cid}: {res}")
    console.print(f"security log rows deleted: {rep.login_attempts}; old sessions: {rep.sessions}")
    for b in rep.bundles:
        console.print(f"contract-end bundle: {b}")


def backup_cmd(
    out_dir: Annotated[pathlib.Path | None, typer.Option("--dir", help="default NOXUS_BACKUP_DIR")] = None,
) -> None:
    """Back up the database (SQLite or PostgreSQL) encrypted with NOXUS_BACKUP_KEY, then delete
    backups 7 days old or older."""
    from noxus.privacy import backup

    st = get_settings()
    d = out_dir or pathlib.Path(st.backup_dir)
    try:
        path = backup.backup(st.database_url, d, backup.backup_key(st))
    except backup.BackupError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    gone = backup.rotate(d, st.backup_keep_days)
    console.print(f"backup written: {path}" + (f"; {len(gone)} old backup(s) deleted" if gone else ""))


def backup_key_cmd() -> None:
    """Print a new random backup key (for NOXUS_BACKUP_KEY; keep a copy off this host)."""
    from noxus.privacy import backup

    typer.echo(backup.new_key())


def restore_cmd(
    path: pathlib.Path, url: Annotated[str, typer.Option(help="a NEW, empty database URL")]
) -> None:
    """Restore a backup into a fresh database (then point NOXUS_DATABASE_URL at it). The file is
    authenticated whole with the configured backup keys before anything is written."""
    from noxus.privacy import backup

    try:
        backup.restore(path, url, backup.keys_from(get_settings()))
    except backup.BackupError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(f"restored {path} into {url.split('@')[-1]}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(privacy_app, name="privacy")
    app.command("backup")(backup_cmd)
    app.command("backup-key")(backup_key_cmd)
    app.command("restore")(restore_cmd)
