"""Import snapshot files into the store: one transaction per file, so a crash leaves it as before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from miles.collect.files import ReadResult, Rejection, read_file
from miles.config import Settings
from miles.errors import InvalidInput
from miles.store.db import session_scope
from miles.store.repos.snapshots import IngestCounts, ingest_frame
from miles.store.tables import Video

MAX_LISTED_REJECTIONS = 20
DEMO_FILE = "trending_demo_sample.parquet"


@dataclass
class ImportSummary:
    files: int = 0
    rows_read: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    rejected: Counter[str] = field(default_factory=Counter)
    quirks: Counter[str] = field(default_factory=Counter)
    examples: list[Rejection] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "videos_new": self.counts.videos_new,
            "videos_updated": self.counts.videos_updated,
            "snapshots_added": self.counts.snapshots_added,
            "channels_new": self.counts.channels_new,
            "rows_rejected": dict(self.rejected),
            "rows_skipped_quirks": dict(self.quirks),
            "dry_run": self.dry_run,
        }


def import_paths(
    paths: Sequence[Path],
    *,
    settings: Settings,
    fmt: str = "auto",
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_file: Callable[[Path, int], None] | None = None,
) -> ImportSummary:
    """Import each file in its own transaction. Without ``skip_invalid`` a file with a bad row imports nothing."""
    summary = ImportSummary(dry_run=dry_run)
    for path in expand_paths(paths):
        result = read_file(path, fmt)
        _record_read(summary, result)
        if result.rejected and not skip_invalid:
            first = result.rejected[0]
            more = f" (and {len(result.rejected) - 1} more bad rows)" if len(result.rejected) > 1 else ""
            raise InvalidInput(
                f"{first}{more}; nothing from this file was imported. "
                "Fix the file or pass --skip-invalid to import its good rows.",
                details=[str(r) for r in result.rejected[:MAX_LISTED_REJECTIONS]],
            )
        if not dry_run:
            summary.counts.add(import_frame(result.frame, settings=settings))
        if on_file is not None:
            on_file(path, result.rows_read)
    return summary


def import_demo_data(*, settings: Settings, only_if_empty: bool = True) -> ImportSummary | None:
    """Import the packaged demo sample so a new install has niches to show without network."""
    with session_scope(settings) as session:
        if only_if_empty and session.scalar(select(func.count()).select_from(Video)):
            return None
    with resources.as_file(resources.files("miles.assets") / "demo" / DEMO_FILE) as path:
        return import_paths([path], settings=settings)


def import_frame(frame: pd.DataFrame, *, settings: Settings) -> IngestCounts:
    with session_scope(settings) as session:
        return ingest_frame(session=session, frame=frame)


def _record_read(summary: ImportSummary, result: ReadResult) -> None:
    summary.files += 1
    summary.rows_read += result.rows_read
    summary.quirks.update(result.quirks)
    for rejection in result.rejected:
        summary.rejected[rejection.reason] += 1
    room = MAX_LISTED_REJECTIONS - len(summary.examples)
    summary.examples.extend(result.rejected[: max(room, 0)])


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given; directories expand to the snapshot files inside them (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith((".parquet", ".csv", ".jsonl", ".ndjson", ".info.json"))
            )
            if not found:
                raise InvalidInput(f"{path}: directory holds no .parquet, .csv, .jsonl or .info.json files")
            out.extend(found)
        elif not path.exists():
            raise InvalidInput(f"{path}: no such file or directory")
        else:
            out.append(path)
    return out
