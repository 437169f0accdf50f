"""Snapshot frames from the store, for building datasets (kept apart so ``miles.model`` never pulls in the store)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from miles.config import Settings
from miles.errors import InvalidInput
from miles.store.db import session_scope
from miles.store.repos.snapshots import load_snapshot_frame


def frame_from_db(
    settings: Settings | None = None,
    *,
    sources: Sequence[str] | None = None,
    platform: str = "youtube",
    clean: bool = True,
) -> pd.DataFrame:
    """Every stored snapshot of one platform in the interchange format (one read; the database is not changed).

    Models are trained per platform (YouTube by default): TikTok rows never reach a YouTube model, and a TikTok
    model is trained with ``platform="tiktok"`` once ``TIKTOK_MIN_VIDEOS`` are tracked (docs/collect.md).
    ``clean`` leaves out quarantined snapshots and view-metric breaks (``miles quality``), as training and
    evaluation need.
    """
    with session_scope(settings) as session:
        frame = load_snapshot_frame(session=session, sources=sources, platform=platform, clean=clean)
    if frame.empty:
        raise InvalidInput(f"the database holds no {platform} snapshots; run `miles import FILE...` first")
    return frame
