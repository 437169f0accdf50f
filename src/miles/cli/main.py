"""Typer root. Expected errors print one red line and exit 1; tracebacks only with --debug."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape  # messages quote sites and users: yt-dlp's "[vm.tiktok] ID: ..." read as markup

from miles import __version__
from miles.cli import collect as collect_cmds
from miles.cli import collect_tiktok, importer
from miles.cli import db as db_cmds
from miles.cli import evaluate as evaluate_cmds
from miles.cli import history as history_cmds
from miles.cli import ideas as ideas_cmds
from miles.cli import mcp as mcp_cmds
from miles.cli import model as model_cmds
from miles.cli import quality as quality_cmds
from miles.cli import serve as serve_cmds
from miles.cli import users as user_cmds
from miles.cli.state import STATE
from miles.errors import MilesError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(
    name="miles",
    help="Miles: how a short will perform, why, and what to make next.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"miles {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    STATE.debug = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


app.add_typer(db_cmds.app, name="db")
collect_cmds.register(app)
collect_tiktok.register(collect_cmds.collect_app)
importer.register(app)
history_cmds.register(app)
model_cmds.register(app)
quality_cmds.register(app)
evaluate_cmds.register(app)
serve_cmds.register(app)
mcp_cmds.register(app)
ideas_cmds.register(app)
user_cmds.register(app)


def run() -> None:
    """Console-script entry point: maps MilesError to one red line and exit code 1."""
    try:
        code = app(standalone_mode=False, prog_name="miles")  # `python -m miles.cli` too: usage reads `miles ...`
    except MilesError as exc:
        if STATE.debug or not exc.expected:
            err_console.print_exception()
        err_console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(1 if exc.expected else 2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]aborted[/red]")
        sys.exit(130)
    except Exception as exc:  # usage errors (Typer's own copy of Click's, or Click's) and bugs
        import click

        if isinstance(exc, click.ClickException | typer.TyperException):
            _show_usage_error(exc)
            sys.exit(exc.exit_code)
        if STATE.debug:
            raise
        if _no_tables(exc):  # a fresh data dir: the setup step, not a bug
            err_console.print("[red]error:[/red] the database has no tables yet: run `miles db upgrade` first (`make "
                              "run` does it)", highlight=False, soft_wrap=True)  # fmt: skip
            sys.exit(1)
        if _behind(exc):  # a newer Miles over an older database: the upgrade step, not a bug
            behind = "the database is older than this Miles (a column it needs is missing): run `miles db upgrade`"
            err_console.print(f"[red]error:[/red] {behind} (`make run` does it)", highlight=False, soft_wrap=True)
            sys.exit(1)
        err_console.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} (run with --debug for "
                          "details)")  # fmt: skip
        sys.exit(2)
    # outside standalone mode a command's `typer.Exit(1)` comes back as its code: `miles collect search` that
    # collected nothing printed "failed" and exited 0, so scripts and cron never noticed
    if isinstance(code, int) and code:
        sys.exit(code)


def _no_tables(exc: Exception) -> bool:
    """SQLite's or PostgreSQL's "no such table" / "relation does not exist": migrations never ran here."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(exc).lower()
    return isinstance(exc, OperationalError | ProgrammingError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    )


def _behind(exc: Exception) -> bool:
    """SQLite's "no such column" / PostgreSQL's "column ... does not exist": a migration this Miles has not run yet."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(exc).lower()
    return isinstance(exc, OperationalError | ProgrammingError) and (
        "no such column" in text or ("column" in text and "does not exist" in text)
    )


def _show_usage_error(exc: Exception) -> None:
    """The usage line, a pointer to --help and the problem (a missing argument or option, a bad value): the user's
    mistake, said as Click says it, never an internal error."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
