"""Datasets: examples, leak-free features and labels from a snapshot frame (file or database).

- prepublish: one example per (video, snapshot); features as of publish; label = log1p(views) at that age.
- early: one example per pair of a video's snapshots (t_i, t_r), t_r >= t_i + ``min_gap_h``; features as of
  the t_i capture; label = log1p(views) at t_r.
``mode="test-file"`` turns a user's file into test rows: prepublish uses each video's latest snapshot,
early its first and last snapshot when they are at least ``min_gap_h`` apart.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from miles.domain import REQUIRED_COLUMNS
from miles.errors import InvalidInput, LeakageError
from miles.features.context import FeatureContext
from miles.features.registry import resolve_groups
from miles.features.schema import FEATURE_VERSION, Task, coerce

log = logging.getLogger(__name__)
Mode = Literal["all", "test-file"]
MIN_GAP_H = 1.0
DATE_ONLY_MIN_T_I_H = 6.0  # early pairs whose t_i capture has only a date need t_i of at least this
META_FIELDS = ("video_id", "channel_id", "title", "description", "tags", "category_id", "duration_s", "country",
               "source", "published_at_is_date_only")  # fmt: skip


@dataclass
class Dataset:
    """``X`` features, ``y`` labels (log_views, views, outlier_multiple), ``meta`` bookkeeping; same row order."""

    task: Task
    X: pd.DataFrame
    y: pd.DataFrame
    meta: pd.DataFrame
    feature_version: str = FEATURE_VERSION

    def __len__(self) -> int:
        return len(self.X)

    def take(self, mask: np.ndarray | pd.Series) -> Dataset:
        m = np.asarray(mask, dtype=bool)
        x, y, meta = (f.loc[m].reset_index(drop=True) for f in (self.X, self.y, self.meta))
        return Dataset(self.task, x, y, meta, self.feature_version)


def group_ids(channel_id: pd.Series, video_id: pd.Series) -> pd.Series:
    """The unit splits and bootstraps resample: the channel, or the video itself when no channel is known."""
    return channel_id.astype("string").fillna("video:" + video_id.astype("string")).astype(str)


def prepare_snapshots(frame: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise an interchange-format frame; drops snapshots captured before publishing."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"snapshot frame lacks required column(s): {', '.join(missing)}")
    snaps = frame.copy()
    for col in (*META_FIELDS, "channel_subscribers"):
        if col not in snaps.columns:
            snaps[col] = None
    for col in ("published_at", "captured_at"):
        snaps[col] = pd.to_datetime(snaps[col], utc=True).astype("datetime64[us, UTC]")
    snaps["views"] = pd.to_numeric(snaps["views"], errors="coerce").astype(float)
    snaps["channel_subscribers"] = pd.to_numeric(snaps["channel_subscribers"], errors="coerce").astype(float)
    snaps["channel_id"] = snaps["channel_id"].astype("string")
    snaps["video_id"] = snaps["video_id"].astype(str)
    if snaps["views"].isna().any() or snaps["published_at"].isna().any() or snaps["captured_at"].isna().any():
        raise InvalidInput("snapshot frame has rows without views, published_at or captured_at")
    # A video's metadata (publish time included) is its latest snapshot's, as in the store.
    latest = snaps.sort_values("captured_at", kind="stable").groupby("video_id", sort=False).last()
    snaps["published_at"] = snaps["video_id"].map(latest["published_at"])
    snaps["age_h"] = (snaps["captured_at"] - snaps["published_at"]).dt.total_seconds() / 3600.0
    bad = snaps["age_h"] < 0
    if bad.any():
        log.info("dropped %d snapshots captured before their video's publish time", int(bad.sum()))
    snaps = snaps.loc[~bad].drop_duplicates(["video_id", "captured_at"], keep="last")
    snaps["group_id"] = group_ids(snaps["channel_id"], snaps["video_id"])
    return snaps.sort_values(["video_id", "captured_at"], kind="stable").reset_index(drop=True)


def subscriber_observations(snaps: pd.DataFrame) -> pd.DataFrame:
    """(group_id, captured_at, subscribers) from every snapshot carrying a channel subscriber count."""
    obs = snaps.dropna(subset=["channel_subscribers"])[["group_id", "captured_at", "channel_subscribers"]]
    obs = obs.rename(columns={"channel_subscribers": "subscribers"})
    return obs.drop_duplicates(["group_id", "captured_at"], keep="last").reset_index(drop=True)


def make_examples(task: Task, snaps: pd.DataFrame, *, mode: Mode = "all", min_gap_h: float = MIN_GAP_H) -> pd.DataFrame:
    """Example rows: video_id, as_of, age_h (asked-about age), t_i_h, label_row (index into ``snaps``)."""
    rows = snaps.assign(label_row=np.arange(len(snaps)))
    if task == "prepublish":
        if mode == "test-file":
            rows = rows.drop_duplicates("video_id", keep="last")
        ex = rows.assign(as_of=rows["published_at"], t_i_h=np.nan)
    else:
        cols = ["video_id", "captured_at", "age_h", "label_row"]
        if "captured_at_is_date_only" not in rows:
            rows["captured_at_is_date_only"] = False
        if mode == "test-file":
            first = rows.drop_duplicates("video_id", keep="first")[cols]
            last = rows.drop_duplicates("video_id", keep="last")[cols]
            pairs = first.merge(last, on="video_id", suffixes=("_i", ""))
        else:
            pairs = rows[cols].merge(rows[cols], on="video_id", suffixes=("_i", ""))
        pairs = pairs.loc[pairs["age_h"] - pairs["age_h_i"] >= min_gap_h]
        # A date-only capture's age is uncertain by +-12 h: too coarse to be a young indicator age.
        date_only = rows["captured_at_is_date_only"].fillna(False).astype(bool).to_numpy()[pairs["label_row_i"]]
        pairs = pairs.loc[~(date_only & (pairs["age_h_i"].to_numpy() < DATE_ONLY_MIN_T_I_H))]
        ex = rows.loc[pairs["label_row"].to_numpy()].assign(
            as_of=pairs["captured_at_i"].to_numpy(), t_i_h=pairs["age_h_i"].to_numpy()
        )
    ex = ex.reset_index(drop=True)
    ex["key"] = ex.groupby(["video_id", "as_of"], sort=False).ngroup()
    return ex


def build_features(
    task: Task,
    examples: pd.DataFrame,
    snaps: pd.DataFrame,
    *,
    subscribers: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compute every feature of ``task``'s groups for ``examples`` through the guarded context."""
    chosen = resolve_groups(task, groups)
    if task == "prepublish" and (examples["as_of"] > examples["published_at"]).any():
        raise LeakageError("prepublish examples must have as_of at or before their publish time")
    subs = subscriber_observations(snaps) if subscribers is None else subscribers
    ctx = FeatureContext(task=task, examples=examples, snapshots=snaps, subscribers=subs)
    parts = []
    for group in chosen:
        out = group.compute(ctx)
        if list(out.columns) != list(group.names) or not out.index.equals(examples.index):
            raise InvalidInput(
                f"feature group {group.name!r} returned columns {list(out.columns)} (index of length {len(out)}); "
                f"expected {list(group.names)} for {len(examples)} examples"
            )
        parts.append(coerce(out, group.features))
    return pd.concat(parts, axis=1)


def build_dataset(
    task: Task,
    frame: pd.DataFrame,
    *,
    mode: Mode = "all",
    groups: Sequence[str] | None = None,
    min_gap_h: float = MIN_GAP_H,
) -> Dataset:
    """Build (X, y, meta) for ``task`` from an interchange-format snapshot frame."""
    from miles.features.labels import outlier_multiples  # labels import build helpers

    snaps = prepare_snapshots(frame)
    examples = make_examples(task, snaps, mode=mode, min_gap_h=min_gap_h)
    if examples.empty:
        need = f"two snapshots of one video at least {min_gap_h:g} h apart" if task == "early" else "a snapshot"
        raise InvalidInput(
            f"no {task} examples in the data ({len(snaps)} usable snapshots); the {task} task needs {need}"
        )
    x = build_features(task, examples, snaps, groups=groups)
    views = examples["views"].to_numpy(dtype=float)
    outlier = outlier_multiples(snaps)
    y = pd.DataFrame(
        {
            "log_views": np.log1p(views),
            "views": views,
            "outlier_multiple": outlier[examples["label_row"].to_numpy()],
        }
    )
    meta = examples[["video_id", "group_id", "channel_id", "source", "published_at", "as_of", "captured_at"]].copy()
    meta["age_h"] = examples["age_h"].to_numpy()
    meta["t_i_h"] = examples["t_i_h"].to_numpy()
    meta["source"] = meta["source"].astype("string").fillna("unknown")
    return Dataset(task, x.reset_index(drop=True), y, meta.reset_index(drop=True))


def fingerprint(meta: pd.DataFrame) -> str:
    """A short hash of which (video, capture) rows a dataset holds - recorded in artifacts."""
    keys = (meta["video_id"].astype(str) + "@" + meta["captured_at"].astype(str)).sort_values()
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def frame_from_db(
    settings: Any = None, *, sources: Sequence[str] | None = None, platform: str = "youtube"
) -> pd.DataFrame:
    """Every stored snapshot in the interchange format; kept here for callers of the old location.

    New code should import :func:`miles.features.load.frame_from_db` (the import here is lazy so that
    ``miles.model`` importing this module never pulls in the store).
    """
    from miles.features.load import frame_from_db as load

    return load(settings, sources=sources, platform=platform)
