"""Export stored snapshots in the interchange format (DESIGN.md §2.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


@dataclass(frozen=True)
class Exported:
    """What an export wrote, and the stored readings it left out because no import would take them."""

    written: int
    before_publish: int  # read before the video's publish time as stored now (a premiere or a rescheduled upload)


def export_snapshots(
    out: Path, *, settings: Settings, sources: Sequence[str] | None = None, platform: str | None = None
) -> Exported:
    """Every snapshot Miles collected or imported (``load_snapshot_frame``: never a count a user typed), in the
    interchange format. A reading taken before the video's publish time as stored now is left out and counted: a
    video's publish time can move (a premiere, a rescheduled upload), the store keeps the latest, and the import
    refuses a reading before publishing, so one such row made the whole exported file fail to import again."""
    with session_scope(settings) as session:
        frame = load_snapshot_frame(session=session, sources=sources, platform=platform)
    early = pd.to_datetime(frame["captured_at"], utc=True) < pd.to_datetime(frame["published_at"], utc=True)
    early = early.to_numpy() if len(frame) else np.zeros(0, dtype=bool)
    kept = frame.loc[~early]
    write_frame(kept, out)
    return Exported(written=len(kept), before_publish=int(early.sum()))
