"""`miles user create|list|password` and `miles key create|list|revoke`: local accounts and API keys."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from miles.cli.state import STATE
from miles.store.db import session_scope
from miles.store.repos import users

user_app = typer.Typer(help="Manage local user accounts.", no_args_is_help=True)
key_app = typer.Typer(
    help="Create, list and revoke API keys (Authorization: Bearer <key> or X-API-Key: <key>).", no_args_is_help=True
)
console = Console()

EmailOpt = Annotated[str, typer.Option("--email", "-e", help="E-mail address of the user.")]


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")


@user_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="E-mail address (the login name).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="MILES_NEW_USER_PASSWORD",
            help="Password (asked for when omitted; or set MILES_NEW_USER_PASSWORD).",
        ),
    ],
) -> None:
    """Create a user with an argon2-hashed password."""
    with session_scope(STATE.settings) as session:
        user = users.create_user(session=session, email=email, password=password)
        console.print(f"created user [bold]{user.email}[/bold] (id {user.id})")
        console.print(f"next: [bold]miles key create --email {user.email}[/bold]")


@user_app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json", help="Print the accounts as JSON.")] = False) -> None:
    """List the accounts: e-mail, id, when created, active API keys."""
    with session_scope(STATE.settings) as session:
        rows: list[dict[str, Any]] = [
            {"id": u.id, "email": u.email, "created_at": u.created_at.isoformat(timespec="seconds"),
             "active": u.is_active, "active_keys": keys}
            for u, keys in users.list_users(session=session)
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no accounts yet: create one with `miles user create EMAIL`", highlight=False)
        return
    table = Table(title=f"{len(rows)} account{'s' if len(rows) != 1 else ''}")
    for col in ("id", "e-mail", "created (UTC)", "active keys"):
        table.add_column(col)
    for r in rows:
        email = r["email"] + ("" if r["active"] else " (disabled)")
        table.add_row(str(r["id"]), email, r["created_at"][:16].replace("T", " "), str(r["active_keys"]))
    console.print(table)


@user_app.command("password")
def set_password(
    email: Annotated[str, typer.Argument(help="E-mail address of the user.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            envvar="MILES_NEW_USER_PASSWORD",
            help="New password (asked for when omitted; or set MILES_NEW_USER_PASSWORD).",
        ),
    ],
) -> None:
    """Set a user's password (an operator's reset); every web session of the user ends, API keys keep working."""
    with session_scope(STATE.settings) as session:
        user = users.require_user(session=session, email=email)
        users.set_password(session=session, user=user, password=password)
    console.print(f"password of [bold]{user.email}[/bold] changed; their web sessions are logged out")


@key_app.command("create")
def create_key(
    email: EmailOpt,
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "default",
) -> None:
    """Create an API key. It is printed once and stored only as a hash: copy it now."""
    with session_scope(STATE.settings) as session:
        user = users.require_user(session=session, email=email)
        row, plaintext = users.create_api_key(session=session, user_id=user.id, name=name)
        key_id = row.id
    console.print(f"API key {key_id} ({name}) for {user.email} — shown once, store it safely:", highlight=False)
    typer.echo(plaintext)


@key_app.command("list")
def list_keys(email: EmailOpt) -> None:
    """List a user's keys (prefix, name, when created, last used, revoked)."""
    with session_scope(STATE.settings) as session:
        user = users.require_user(session=session, email=email)
        rows = users.list_api_keys(session=session, user_id=user.id)
    table = Table(title=f"API keys of {user.email}")
    for col in ("id", "name", "prefix", "created", "last used", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            r.name,
            r.prefix + "…",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "",
        )
    console.print(table)


@key_app.command("revoke")
def revoke_key(
    key_id: Annotated[int, typer.Argument(help="Key id (see `miles key list`).")],
    email: EmailOpt,
) -> None:
    """Revoke a key: requests with it are refused from now on. A key revoked already is left as it is (exit 0)."""
    with session_scope(STATE.settings) as session:
        user = users.require_user(session=session, email=email)
        _, revoked_at = users.revoke_api_key(session=session, user_id=user.id, key_id=key_id)
    if revoked_at is not None:  # a no-op says so, as `miles track add` of a tracked video does
        console.print(f"API key {key_id} of {user.email} was already revoked on {revoked_at:%Y-%m-%d %H:%M} UTC: "
                      "nothing changed", highlight=False)  # fmt: skip
        return
    console.print(f"revoked API key {key_id} of {user.email}", highlight=False)
