"""Export stored snapshots in the interchange format (DESIGN.md §2.1)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from miles.config import Settings
from miles.errors import InvalidInput
from miles.store.db import session_scope
from miles.store.repos.snapshots import load_snapshot_frame


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    name = out.name.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if name.endswith(".parquet"):
        frame.to_parquet(tmp, index=False)
    elif name.endswith(".csv"):
        # rows end in \r\n so that a text holding a bare \r is quoted too (with \n alone it was written raw, and the
        # file no longer imported: "line 62: missing required value in column published_at")
        frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z", lineterminator="\r\n")
    elif name.endswith((".jsonl", ".ndjson")):
        frame.to_json(tmp, orient="records", lines=True, date_format="iso", date_unit="us", force_ascii=False)
    else:
        raise InvalidInput(f"{out}: unknown output type; use .csv, .parquet or .jsonl")
    tmp.replace(out)  # atomic: a crash never leaves half a file under the real name


def export_snapshots(
    out: Path, *, settings: Settings, sources: Sequence[str] | None = None, platform: str | None = None
) -> int:
    with session_scope(settings) as session:
        frame = load_snapshot_frame(session=session, sources=sources, platform=platform)
    write_frame(frame, out)
    return len(frame)
