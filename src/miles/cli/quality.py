"""`miles quality`: run the data-quality checks over the store and list what they found."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miles.cli.state import STATE
from miles.inputs import format_count

console = Console()


def register(app: typer.Typer) -> None:
    app.command("quality")(quality_cmd)


def quality_cmd(
    since_h: Annotated[
        float | None, typer.Option("--since-hours", min=0, help="Only videos captured in the last H hours.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="List only findings of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="Findings to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Flag doubtful data; quarantine snapshots whose counts are in doubt (kept out of training).

    Flags counts that drop to 0 or go backwards, vanished fields, duplicate captures, view-metric breaks, stale
    niches and yt-dlp version changes."""
    from miles.domain import utcnow
    from miles.errors import InvalidInput
    from miles.jobs.quality import check_quality
    from miles.store.db import session_scope
    from miles.store.repos import quality as quality_repo
    from miles.store.repos.quality import KINDS

    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    settings = STATE.settings
    since = utcnow() - timedelta(hours=since_h) if since_h is not None else None
    report = check_quality(settings, since=since)
    with session_scope(settings) as session:
        summary = quality_repo.summary(session=session)
        rows, total = quality_repo.list_flags(session=session, kind=kind, limit=limit)
        flags = [quality_repo.flag_dict(r) for r in rows]
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), **summary, "total": total, "flags": flags}, indent=2))
        return
    quarantined = summary["quarantined_snapshots"]
    console.print(f"checked {format_count(report.checked_snapshots, 'snapshot')}: "
                  f"{format_count(report.new_flags, 'new finding')}; {format_count(quarantined, 'snapshot')} "
                  "quarantined (kept out of training and grading)")  # fmt: skip
    table = Table(title="findings by kind")
    for col in ("kind", "stored", "what it means"):
        table.add_column(col, justify="right" if col == "stored" else "left")
    for name, what in KINDS.items():
        table.add_row(name, f"{summary['by_kind'].get(name, 0):,}", what)
    console.print(table)
    if flags:
        recent = Table(title=f"latest {len(flags)} of {total:,}")
        for col in ("kind", "video", "quarantined", "detail"):
            recent.add_column(col, overflow="fold")
        for f in flags:
            recent.add_row(f["kind"], f["video_id"] or "-", "yes" if f["quarantined"] else "", f["detail"])
        console.print(recent)
