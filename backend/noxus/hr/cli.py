"""`noxus hr ...`: timesheet exports from the command line (same code as the API)."""

import pathlib
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="HR: timesheet exports", no_args_is_help=True)
console = Console(stderr=True)


@app.command("export")
def export(
    customer: Annotated[int, typer.Option("--customer", "-c", help="customer id")],
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, csv-excel, xlsx or pdf")] = "csv",
    out: Annotated[pathlib.Path | None, typer.Option("--out", "-o", help="file (default: the export's name)")] = None,
    employee: Annotated[list[int] | None, typer.Option("--employee", "-e", help="employee id (repeat)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="fr or en (PDF and XLSX labels)")] = "fr",
) -> None:
    """Write the timesheets of a customer (or some employees) for a period."""
    from sqlmodel import Session

    from noxus.core.db import get_engine
    from noxus.core.security import Scope
    from noxus.core.settings import get_settings
    from noxus.hr import export_service
    from noxus.hr.errors import HRError

    try:
        d1, d2 = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        console.print(f"[red]--from/--to must be dates like 2026-03-01 (got {first!r}, {last!r})[/red]")
        raise typer.Exit(2) from None
    with Session(get_engine()) as session:
        try:
            f = export_service.build(session, Scope.everything(), customer, d1, d2, fmt, employee or None,
                                     "en" if lang == "en" else "fr", get_settings())
        except HRError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
    path = out or pathlib.Path(f.filename)
    path.write_bytes(f.content)
    console.print(f"wrote {path} ({len(f.content)} bytes)")
