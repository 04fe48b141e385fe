"""`noxus customer …` and `noxus site …`: the same operations as the pages and the API, for
scripts. Errors are the same sentences as on the pages; the exit code is 2 on bad input."""

import getpass
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from noxus.core.db import new_session
from noxus.core.security import Scope
from noxus.tenancy import service
from noxus.tenancy.models import CustomerCreate, CustomerUpdate, SiteCreate, SiteUpdate
from noxus.tenancy.service import TenancyError

customer_app = typer.Typer(help="Customers (tenants): create, edit, archive, list", no_args_is_help=True)
site_app = typer.Typer(help="Sites of a customer: create, edit, list", no_args_is_help=True)
console = Console()
ALL = Scope.everything()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


def _invalid(e: ValidationError) -> NoReturn:
    from noxus.web.forms import errors_by_field

    _fail("; ".join(f"{k}: {v}" for k, v in errors_by_field(e).items()))


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _checked(schema: type[M], **fields: object) -> M:
    """The command's options as `schema`, or exit 2 naming each wrong option."""
    try:
        return schema.model_validate(fields)
    except ValidationError as e:
        _invalid(e)


def _apply(change: Callable[[Session], T], said: Callable[[T], str]) -> None:
    """Run a service change and commit it; a refusal exits 2 with its sentence."""
    with new_session() as s:
        try:
            row = change(s)
        except TenancyError as e:
            _fail(str(e))
        s.commit()
        console.print(said(row))


@customer_app.command("add")
def customer_add(
    name: str,
    legal_name: str = typer.Option(..., help="as in the commercial register (70 characters at most)"),
    street: str = typer.Option(...),
    postcode: str = typer.Option(...),
    town: str = typer.Option(...),
    contact_name: str = typer.Option(..., help="receives §7.6 notices"),
    contact_email: str = typer.Option(...),
    language: str = typer.Option(..., help="fr, de, it or en"),
    canton: str = typer.Option(..., help="two letters: VD, BE, ZH…"),
    house_num: str = "",
    country: str = "CH",
    contact_phone: str = "",
    vat_number: str = typer.Option(None, help="CHE-123.456.789 or CHE-123.456.789 MWST"),
) -> None:
    """Create a customer; prints its id."""
    data = _checked(
        CustomerCreate,
        name=name,
        legal_name=legal_name,
        vat_number=vat_number or None,
        street=street,
        house_num=house_num,
        postcode=postcode,
        town=town,
        country=country,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        language=language,
        canton=canton,
    )
    _apply(
        lambda s: service.create_customer(s, data, _actor()),
        lambda c: f"customer [bold]{c.id}[/bold] {c.name} created",
    )


@customer_app.command("edit")
def customer_edit(
    customer_id: int,
    name: str | None = None,
    legal_name: str | None = None,
    vat_number: str | None = None,
    street: str | None = None,
    house_num: str | None = None,
    postcode: str | None = None,
    town: str | None = None,
    country: str | None = None,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    language: str | None = None,
    canton: str | None = None,
) -> None:
    """Change some fields of a customer (only the options given)."""
    given = {k: v for k, v in locals().items() if k != "customer_id" and v is not None}
    data = _checked(CustomerUpdate, **given)
    _apply(
        lambda s: service.update_customer(s, service.get_customer(s, ALL, customer_id), data, _actor()),
        lambda c: f"customer [bold]{c.id}[/bold] saved",
    )


@customer_app.command("archive")
def customer_archive(customer_id: int, restore: bool = typer.Option(False, help="undo an archive")) -> None:
    """Archive a customer (nothing is deleted), or restore it with --restore."""
    _apply(
        lambda s: service.set_archived(s, service.get_customer(s, ALL, customer_id), not restore, _actor()),
        lambda c: f"customer [bold]{c.id}[/bold] {'restored' if restore else 'archived'}",
    )


@customer_app.command("list")
def customer_list(search: str = "", archived: bool = False) -> None:
    """Customers with their state and balance (when billing knows them)."""
    from noxus.core.i18n import format_chf

    with new_session() as s:
        t = Table("id", "name", "town", "canton", "lang", "state", "balance")
        for c, a in service.list_customers_with_accounts(s, ALL, search, archived):
            t.add_row(
                str(c.id),
                c.name + (" (archived)" if c.archived_at else ""),
                c.town,
                c.canton or "",
                c.language,
                a.state if a else "",
                format_chf(a.balance) if a else "",
            )
        console.print(t)


@site_app.command("add")
def site_add(
    customer_id: int,
    name: str,
    canton: str = typer.Option(..., help="two letters: VD, BE…"),
    address: str = "",
    timezone: str = "Europe/Zurich",
) -> None:
    """Create a site of a customer; prints its id."""
    data = _checked(
        SiteCreate, customer_id=customer_id, name=name, canton=canton, address=address, timezone=timezone
    )
    _apply(
        lambda s: service.create_site(s, ALL, data, _actor()),
        lambda site: f"site [bold]{site.id}[/bold] {site.name} created",
    )


@site_app.command("edit")
def site_edit(
    site_id: int,
    name: str | None = None,
    canton: str | None = None,
    address: str | None = None,
    timezone: str | None = None,
) -> None:
    """Change some fields of a site."""
    given = {k: v for k, v in locals().items() if k != "site_id" and v is not None}
    data = _checked(SiteUpdate, **given)
    _apply(
        lambda s: service.update_site(s, service.get_site(s, ALL, site_id), data, _actor()),
        lambda site: f"site [bold]{site.id}[/bold] saved",
    )


@site_app.command("list")
def site_list(customer_id: int = typer.Option(None, "--customer")) -> None:
    with new_session() as s:
        t = Table("id", "customer", "name", "canton", "time zone", "address")
        for site in service.list_sites(s, ALL, customer_id):
            t.add_row(
                str(site.id), str(site.customer_id), site.name, site.canton or "", site.timezone, site.address
            )
        console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(customer_app, name="customer")
    app.add_typer(site_app, name="site")
