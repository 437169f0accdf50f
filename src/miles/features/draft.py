"""Feature rows for drafts - videos not (yet) in the database - with the same feature functions as training.

The predictor and the API call :func:`draft_features` at serving time. A draft's subscriber count is
taken as known at its planned publish time; its early views (age in hours, views) become snapshots of
the draft, so the early task sees exactly what a tracked video would show. Pass ``channel_history``
(the channel's stored snapshots, interchange format) to get the channel baseline features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from miles.domain import as_utc
from miles.errors import InvalidInput
from miles.features.build import build_features, group_ids, prepare_snapshots, subscriber_observations
from miles.features.schema import Task

DEFAULT_HORIZONS_H: tuple[float, ...] = (1.0, 6.0, 24.0, 168.0, 720.0)


@dataclass
class Draft:
    title: str
    publish_at: datetime
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    duration_s: float | None = None
    category_id: int | None = None
    channel_subscribers: int | None = None
    country: str | None = None
    channel_id: str | None = None
    early_views: list[tuple[float, float]] = field(default_factory=list)  # (age in hours, views)


def _draft_snapshots(drafts: Sequence[Draft]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(snapshot rows from early views, one metadata row per draft)."""
    meta, snaps = [], []
    for i, d in enumerate(drafts):
        if not d.title or not d.title.strip():
            raise InvalidInput(f"draft {i}: title is empty")
        pub = pd.Timestamp(as_utc(d.publish_at))
        row = {
            "video_id": f"draft:{i}",
            "channel_id": d.channel_id,
            "title": d.title,
            "description": d.description,
            "tags": "|".join(d.tags) if d.tags else None,
            "category_id": d.category_id,
            "duration_s": d.duration_s,
            "country": d.country,
            "source": "draft",
            "published_at": pub,
            "published_at_is_date_only": False,
        }
        meta.append(row)
        for age_h, views in d.early_views:
            if age_h < 0 or views < 0:
                raise InvalidInput(f"draft {i}: early views need age_h >= 0 and views >= 0, got ({age_h}, {views})")
            snaps.append({**row, "captured_at": pub + pd.Timedelta(hours=float(age_h)), "views": float(views)})
    return pd.DataFrame(snaps, columns=[*meta[0].keys(), "captured_at", "views"]), pd.DataFrame(meta)


def draft_features(
    drafts: Sequence[Draft],
    *,
    task: Task,
    horizons_h: Sequence[float] = DEFAULT_HORIZONS_H,
    channel_history: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features for every (draft, horizon): returns ``(X, rows)`` where ``rows`` has draft, horizon_h, t_i_h.

    prepublish: as_of = publish time. early: as_of = the draft's latest early view (at least one needed);
    horizons at or before it are dropped.
    """
    if not drafts:
        raise InvalidInput("no drafts given")
    own, meta = _draft_snapshots(drafts)
    parts = [own] if not own.empty else []
    if channel_history is not None and not channel_history.empty:
        parts.append(channel_history.assign(video_id=channel_history["video_id"].astype(str)))
    snaps = prepare_snapshots(pd.concat(parts, ignore_index=True)) if parts else _empty_snapshots(meta)
    subs = _subscriber_obs(drafts, meta, snaps)
    examples = _examples(drafts, meta, task, horizons_h)
    x = build_features(task, examples, snaps, subscribers=subs, groups=groups)
    rows = examples[["draft", "age_h", "t_i_h"]].rename(columns={"age_h": "horizon_h"})
    return x.reset_index(drop=True), rows.reset_index(drop=True)


def _empty_snapshots(meta: pd.DataFrame) -> pd.DataFrame:
    empty = meta.iloc[0:0].assign(captured_at=meta["published_at"].iloc[0:0], views=0.0, channel_subscribers=0.0)
    empty["age_h"] = 0.0
    empty["group_id"] = group_ids(empty["channel_id"].astype("string"), empty["video_id"])
    empty["channel_id"] = empty["channel_id"].astype("string")
    return empty


def _subscriber_obs(drafts: Sequence[Draft], meta: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    given = pd.DataFrame(
        {
            "group_id": group_ids(meta["channel_id"].astype("string"), meta["video_id"]),
            "captured_at": meta["published_at"],
            "subscribers": [np.nan if d.channel_subscribers is None else float(d.channel_subscribers) for d in drafts],
        }
    ).dropna(subset=["subscribers"])
    stored = subscriber_observations(snaps) if len(snaps) else given.iloc[0:0]
    obs = pd.concat([stored, given], ignore_index=True)
    return obs.drop_duplicates(["group_id", "captured_at"], keep="last").reset_index(drop=True)


def _examples(drafts: Sequence[Draft], meta: pd.DataFrame, task: Task, horizons_h: Sequence[float]) -> pd.DataFrame:
    rows = []
    for i, d in enumerate(drafts):
        t_i = np.nan
        if task == "early":
            if not d.early_views:
                raise InvalidInput(f"draft {i}: the early task needs at least one (age_h, views) observation")
            t_i = float(max(a for a, _ in d.early_views))
        as_of = meta.loc[i, "published_at"] + pd.Timedelta(hours=0.0 if np.isnan(t_i) else float(t_i))
        for h in horizons_h:
            if h <= 0 or (task == "early" and h <= t_i):
                continue
            rows.append({**meta.loc[i].to_dict(), "draft": i, "age_h": float(h), "t_i_h": t_i, "as_of": as_of})
    if not rows:
        raise InvalidInput("no horizon lies after the drafts' latest early views; ask for a later age")
    ex = pd.DataFrame(rows)
    ex["channel_id"] = ex["channel_id"].astype("string")
    ex["group_id"] = group_ids(ex["channel_id"], ex["video_id"])
    ex["key"] = ex.groupby(["video_id", "as_of"], sort=False).ngroup()
    return ex
