"""`miles db upgrade|downgrade|stats`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miles.cli.state import STATE
from miles.store import migrate
from miles.store.db import session_scope
from miles.store.repos.stats import table_counts

app = typer.Typer(help="Manage the database schema and see what is stored.", no_args_is_help=True)
console = Console()


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = STATE.settings
    migrate.upgrade(settings, revision)
    console.print(f"database at revision [bold]{migrate.current_revision(settings)}[/bold]")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step)."""
    settings = STATE.settings
    migrate.downgrade(settings, revision)
    console.print(f"database at revision [bold]{migrate.current_revision(settings) or 'base'}[/bold]")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Row counts per table and the schema revision."""
    settings = STATE.settings
    with session_scope(settings) as session:
        counts = table_counts(session=session)
    revision = migrate.current_revision(settings)
    if as_json:
        import json

        typer.echo(
            json.dumps(
                {"revision": revision, "database": _safe_url(settings.sqlalchemy_url), "tables": counts}, indent=2
            )
        )
        return
    # the URL has no spaces: as the table's title it was cut mid-word at the table's width ("…/miles." / "db (rev…")
    console.print(f"database {_safe_url(settings.sqlalchemy_url)}", soft_wrap=True, highlight=False)
    table = Table(title=f"rows per table · revision {revision}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
