"""`miles import` and `miles export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miles.cli.state import STATE
from miles.collect.files import FORMATS
from miles.domain import checked_platform
from miles.errors import InvalidInput
from miles.inputs import format_count
from miles.jobs.export import export_snapshots
from miles.jobs.ingest import ImportSummary, expand_paths, import_demo_data, import_paths

console = Console()


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    export_app = typer.Typer(help="Write stored data out in the interchange format.", no_args_is_help=True)
    export_app.command("snapshots")(export_cmd)
    app.add_typer(export_app, name="export")
    app.command("demo-data")(demo_data_cmd)


def demo_data_cmd(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when no videos are stored yet.")] = False,
) -> None:
    """Import the bundled demo sample (BSD-2 trending data; see assets/demo/ATTRIBUTION.md)."""
    summary = import_demo_data(settings=STATE.settings, only_if_empty=if_empty)
    if summary is None:
        console.print("demo data skipped: the database already holds videos")
    else:
        console.print(
            f"demo data: {format_count(summary.counts.snapshots_added, 'snapshot')} of "
            f"{format_count(summary.counts.videos_new, 'video')}"
        )


def import_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="Snapshot files or directories (CSV, Parquet, JSONL, .info.json).")
    ],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import good rows, report bad ones.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and validate only; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import snapshots: upsert channels and videos, append snapshots. Each file is all-or-nothing."""
    files = expand_paths(paths)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task("importing", total=len(files))

        def advance(path: Path, _rows: int) -> None:
            progress.update(task, advance=1, description=f"imported {path.name}")

        summary = import_paths(
            files, settings=STATE.settings, fmt=fmt, skip_invalid=skip_invalid, dry_run=dry_run, on_file=advance
        )
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_summary(summary)


def _print_summary(summary: ImportSummary) -> None:
    table = Table(title="import summary" + (" (dry run: nothing written)" if summary.dry_run else ""))
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in summary.as_dict().items():
        if isinstance(value, int) and not isinstance(value, bool):
            table.add_row(key.replace("_", " "), f"{value:,}")
    for reason, n in summary.rejected.most_common():
        table.add_row(f"[red]rejected[/red]: {reason}", f"{n:,}")
    for reason, n in summary.quirks.most_common():
        table.add_row(f"[yellow]skipped[/yellow]: {reason}", f"{n:,}")
    console.print(table)
    for rejection in summary.examples[:5]:
        console.print(f"  [red]rejected[/red] {rejection}", highlight=False)


def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .parquet or .jsonl.")],
    source: Annotated[list[str] | None, typer.Option("--source", help="Only snapshots from this source.")] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="Only videos of this platform: youtube or tiktok.")
    ] = None,
) -> None:
    """Export every stored snapshot in the interchange format (import -> export -> import round-trips).

    Left out: counts users typed on the Track page (theirs alone) and readings taken before a video's publish time
    as stored now (a premiere or rescheduled upload; the import would refuse them)."""
    try:
        chosen = checked_platform(platform) if platform is not None else None
    except ValueError as exc:
        raise InvalidInput(f"--platform: {exc}") from None
    done = export_snapshots(out, settings=STATE.settings, sources=source, platform=chosen)
    left = ""
    if done.before_publish:
        left = (f"; left out {format_count(done.before_publish, 'reading')} taken before its video's publish time "
                "as stored now (a premiere or rescheduled upload: the import would refuse it)")  # fmt: skip
    console.print(f"wrote {format_count(done.written, 'snapshot')} to {out}{left}", highlight=False)
