"""Security commands of `noxus`: users and tokens (the privacy commands are noxus.privacy.cli)."""

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console

from noxus.core.db import new_session
from noxus.core.settings import get_settings

console = Console()
user_app = typer.Typer(help="Users and roles", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens (provisioning CLI, scripts)", no_args_is_help=True)
security_app = typer.Typer(help="The security log (log-in attempts)", no_args_is_help=True)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _user(s, username: str, hint: str = ""):
    """The user called `username`, or the command ends (exit code 2) saying there is none."""
    from noxus.core import accounts

    u = accounts.get_user(s, username)
    if u is None:
        console.print(f"[red]no user {username!r}{hint}[/red]")
        raise typer.Exit(2)
    return u


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, billing, technician, hr_admin, hr_viewer")],
    customer_id: Annotated[int | None, typer.Option(help="required for hr_admin / hr_viewer")] = None,
    full_name: str = "",
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin, not a prompt")] = False,
) -> None:
    """Create a user (the first administrator is created this way)."""
    from noxus.core import accounts, audit
    from noxus.core.users import UserCreate

    pw = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("password (12+ characters)", hide_input=True, confirmation_prompt=True)
    )
    try:
        data = UserCreate(
            username=username, role=role, customer_id=customer_id, full_name=full_name, password=pw
        )
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    with new_session() as s:
        try:
            u = accounts.create_user(s, data)
        except accounts.AccountError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
        audit.record(
            s, _actor(), "create", "user", u.id, u.customer_id, {"role": u.role, "username": u.username}
        )
        s.commit()
        console.print(f"user [bold]{u.username}[/bold] ({u.role}) created, id {u.id}")


def _cli_principal():
    from noxus.core.security import Principal, Role

    return Principal(user_id=None, username=_actor(), role=Role.ADMIN, via="cli")


@user_app.command("invite")
def user_invite(
    email: str,
    role: Annotated[str, typer.Option(help="admin, billing, technician, hr_admin, hr_viewer")],
    full_name: Annotated[str, typer.Option(help="the person's name")],
    customer_id: Annotated[int | None, typer.Option(help="required for hr_admin / hr_viewer")] = None,
    language: Annotated[str | None, typer.Option(help="fr, de, it, en; empty: the customer's")] = None,
) -> None:
    """Create a user without a password and send an invitation e-mail (through the outbox) with a
    one-time link to set it."""
    from noxus.auth import invitations
    from noxus.core.security import Role, Scope

    try:
        wanted = Role(role)
    except ValueError:
        console.print(f"[red]unknown role {role!r}[/red]")
        raise typer.Exit(2) from None
    with new_session() as s:
        try:
            u = invitations.invite(
                s,
                get_settings(),
                _cli_principal(),
                Scope.everything(),
                email=email,
                full_name=full_name,
                role=wanted,
                customer_id=customer_id,
                language=language,
            )
        except invitations.InvitationError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
        s.commit()
        console.print(
            f"user [bold]{u.username}[/bold] ({u.role}) invited, id {u.id}; the e-mail is in the outbox"
        )


def _set_user(username: str, **changes) -> None:
    from noxus.core import accounts, audit
    from noxus.core.security import Role

    with new_session() as s:
        u = _user(s, username)
        if "role" in changes:
            new = Role(changes["role"])
            if new.is_staff != Role(u.role).is_staff:
                console.print(
                    "[red]a user cannot move between NOXUS staff and a customer: invite a new user[/red]"
                )
                raise typer.Exit(2)
        before = {k: getattr(u, k) for k in changes}
        for k, v in changes.items():
            setattr(u, k, v)
        accounts.revoke_all_credentials(s, u)  # a changed right takes effect now
        s.add(u)
        audit.record(
            s,
            _actor(),
            "update",
            "user",
            u.id,
            u.customer_id,
            {k: [before[k], v] for k, v in changes.items()},
        )
        s.commit()
    console.print(f"{username}: " + ", ".join(f"{k} = {v}" for k, v in changes.items()))


@user_app.command("disable")
def user_disable(username: str) -> None:
    """The user can no longer log in; sessions and tokens stop working at once."""
    _set_user(username, active=False)


@user_app.command("enable")
def user_enable(username: str) -> None:
    _set_user(username, active=True)


@user_app.command("role")
def user_role(username: str, role: str) -> None:
    """Change a user's role (within staff, or within customer roles)."""
    from noxus.core.security import Role

    if role not in {r.value for r in Role}:
        console.print(f"[red]unknown role {role!r}[/red]")
        raise typer.Exit(2)
    _set_user(username, role=role)


@user_app.command("unlock")
def user_unlock(username: str) -> None:
    """Lift a log-in lock-out before it expires."""
    from noxus.core import accounts, audit

    with new_session() as s:
        u = _user(s, username)
        accounts.unlock(s, u)
        audit.record(s, _actor(), "unlock", "user", u.id, u.customer_id)
        s.commit()
    console.print(f"{username} unlocked")


@token_app.command("create")
def token_create(
    username: str, name: str = "cli", days: Annotated[int, typer.Option(help="0: never expires")] = 90
) -> None:
    """Create a bearer token for a user; the token is printed once."""
    from noxus.core import accounts, audit

    with new_session() as s:
        u = _user(s, username, ": create it with `noxus user create`")
        token, raw = accounts.create_token(s, u, name, days or None)
        audit.record(
            s, _actor(), "create", "token", token.id, u.customer_id, {"user": u.username, "name": name}
        )
        s.commit()
    typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token at once (it stops working on the next request)."""
    from noxus.core import accounts, audit
    from noxus.core.users import ApiToken

    with new_session() as s:
        t = s.get(ApiToken, token_id)
        if t is None:
            console.print(f"[red]no token {token_id}[/red]")
            raise typer.Exit(2)
        accounts.revoke_token(s, t)
        audit.record(s, _actor(), "revoke", "token", t.id, None, {"owner": t.user_id})
        s.commit()
    console.print(f"token {token_id} revoked")


@security_app.command("log")
def security_log(
    person: Annotated[str, typer.Option(help="the start of a user name")] = "",
    first: Annotated[str, typer.Option("--from", help="first day, yyyy-mm-dd (company zone)")] = "",
    last: Annotated[str, typer.Option("--to", help="last day, yyyy-mm-dd (company zone)")] = "",
    failed_only: bool = False,
    limit: int = 50,
    lang: str = "en",
) -> None:
    """The security log as sentences, newest first, in the company's time zone."""
    from zoneinfo import ZoneInfo

    from noxus.auth import security_log as log
    from noxus.core.i18n import format_datetime, use_language

    days = {"--from": first, "--to": last}
    for option, text in days.items():
        if text and log.day(text) is None:
            console.print(f"[red]{option} {text!r} is not a date: give it as 2026-03-31[/red]")
            raise typer.Exit(2)
    zone = ZoneInfo(get_settings().timezone)
    filters = log.Filters(person, log.day(first), log.day(last), failed_only)
    with new_session() as s, use_language(lang):
        for a in log.attempts(s, zone, filters, max(1, limit)):
            typer.echo(f"{format_datetime(a.at, zone, seconds=True)}  {log.sentence(a)}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(security_app, name="security")
