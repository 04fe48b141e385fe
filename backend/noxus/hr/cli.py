"""`noxus hr ...`: timesheet exports from the command line (same code as the API)."""

import pathlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from noxus.core.types import id_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from noxus.hr.export_service import ExportFile

app = typer.Typer(help="HR: timesheet and payroll exports, absences, month close", no_args_is_help=True)
console = Console(stderr=True)
CustomerOption = Annotated[int, typer.Option("--customer", "-c", help="customer id")]
OutOption = Annotated[
    pathlib.Path | None, typer.Option("--out", "-o", help="file (default: the export's name)")
]


@contextmanager
def _transaction(lang: str | None = None, refused: tuple[type[Exception], ...] = ()) -> Iterator["Session"]:
    """A session committed at the end of the block; a refusal (HRError, or one of `refused`) is
    printed in red and exits with 2. With `lang`, refusals are in that language."""
    from sqlmodel import Session

    from noxus.core.db import get_engine
    from noxus.core.i18n import use_language
    from noxus.hr.errors import HRError

    refusals: tuple[type[Exception], ...] = (HRError, *refused)
    with Session(get_engine()) as session, use_language(lang) if lang else nullcontext():
        try:
            yield session
            session.commit()
        except refusals as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None


def _write(f: "ExportFile", out: pathlib.Path | None) -> None:
    path = out or pathlib.Path(f.filename)
    path.write_bytes(f.content)
    console.print(f"wrote {path} ({len(f.content)} bytes)")


@app.command("export")
def export(
    customer: CustomerOption,
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, csv-excel, xlsx or pdf")] = "csv",
    out: OutOption = None,
    employee: Annotated[
        list[int] | None, typer.Option("--employee", "-e", help="employee id (repeat)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="fr or en (PDF and XLSX labels)")] = "fr",
) -> None:
    """Write the timesheets of a customer (or some employees) for a period."""
    from noxus.core.security import Scope
    from noxus.core.settings import get_settings
    from noxus.hr import export_service

    try:
        d1, d2 = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        console.print(f"[red]--from/--to must be dates like 2026-03-01 (got {first!r}, {last!r})[/red]")
        raise typer.Exit(2) from None
    with _transaction(lang) as session:
        f = export_service.build(
            session,
            Scope.everything(),
            customer,
            d1,
            d2,
            fmt,
            employee or None,
            "en" if lang == "en" else "fr",
            get_settings(),
        )
    _write(f, out)


@app.command("payroll")
def payroll(
    customer: CustomerOption,
    year: Annotated[int, typer.Option("--year", help="e.g. 2026")],
    month: Annotated[int, typer.Option("--month", help="1-12; leave out with --annual")] = 0,
    annual: Annotated[bool, typer.Option("--annual", help="the annual summary instead of one month")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="xlsx or csv-excel")] = "xlsx",
    out: OutOption = None,
    lang: Annotated[str, typer.Option("--lang", help="fr, de or en (XLSX headers)")] = "fr",
) -> None:
    """Payroll export of a month (a row per employee) or the annual summary (docs/exports.md)."""
    from noxus.core.settings import get_settings
    from noxus.hr import payroll_service

    params = {
        "kind": "annual" if annual else "payroll",
        "year": year,
        "month": month,
        "format": fmt,
        "lang": lang,
    }
    with _transaction(lang) as session:
        f = payroll_service.build(session, customer, params, get_settings(), actor="cli")
    _write(f, out)


@app.command("close")
def close(
    customer: CustomerOption,
    year: Annotated[int, typer.Option("--year")],
    month: Annotated[int, typer.Option("--month")],
    acknowledge: Annotated[
        bool, typer.Option("--acknowledge", help="close although the checklist has items")
    ] = False,
    actor: Annotated[str, typer.Option("--actor", help="who closes (audit log)")] = "cli",
) -> None:
    """Close an ended month: prints the checklist; with --acknowledge, closes and stores the balances."""
    from noxus.core.settings import get_settings
    from noxus.hr import periods

    settings = get_settings()
    with _transaction() as session:
        checks, _ = periods.checklist(session, customer, year, month, settings)
        for c in checks:
            console.print(f"{c.kind}\t{c.day or ''}\t{c.employee}\t{c.detail}")
        periods.close_month(session, customer, year, month, actor, settings, acknowledged=acknowledge)
    console.print(f"{year}-{month:02d} closed")


@app.command("absence")
def absence(
    employee: Annotated[int, typer.Option("--employee", "-e", help="employee id")],
    kind: Annotated[
        str,
        typer.Option(
            "--type",
            "-t",
            help="vacation, sick, accident, military, maternity, "
            "training, paid_leave, unpaid_leave, overtime_comp",
        ),
    ],
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str | None, typer.Option("--to", help="last day (default: --from)")] = None,
    portion: Annotated[str, typer.Option("--portion", help="day, am, pm or hours")] = "day",
    minutes: Annotated[int, typer.Option("--minutes", help="with --portion hours: minutes per day")] = 0,
    reason: Annotated[str, typer.Option("--reason")] = "",
    actor: Annotated[str, typer.Option("--actor", help="who enters it (audit log)")] = "cli",
) -> None:
    """Enter an absence (same rules as the pages: no overlap, not in a closed month)."""
    from noxus.core.security import Scope
    from noxus.hr import absences, employees
    from noxus.hr.errors import HRError
    from noxus.hr.schemas import AbsenceCreate

    with _transaction(refused=(ValueError,)) as session:  # ValueError: a date or field mistyped
        emp = employees.get(session, Scope.everything(), employee)
        kinds = {k.code: k for k in absences.ensure_kinds(session, emp.customer_id)}
        if kind not in kinds:
            raise HRError(f"unknown absence type {kind!r}: use one of {', '.join(kinds)}")
        d1 = date.fromisoformat(first)
        rec = absences.create(
            session,
            Scope.everything(),
            AbsenceCreate(
                employee_id=id_of(emp),
                type_id=id_of(kinds[kind]),
                first=d1,
                last=date.fromisoformat(last) if last else d1,
                portion=portion,
                minutes=minutes,
                reason=reason,
            ),
            actor,
        )
        rec_id = id_of(rec)  # flushed: known before the commit
    console.print(f"absence {rec_id} saved")
