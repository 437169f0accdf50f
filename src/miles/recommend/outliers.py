"""Age-normalised outliers (DESIGN.md §3.2), so a 2-hour-old video and a 2-week-old one compare fairly.

Each niche video gets, at its latest snapshot:
- ``channel_multiple``: views ÷ its channel's median views at the same age over strictly earlier uploads
  (``miles.features.labels.outlier_multiples``), where that history exists;
- ``niche_multiple``: exp(age-adjusted residual): views ÷ what a typical video of its category and channel
  size gets at that age (the ``ViralLabeler`` expectation model, fitted on the store's data).
``multiple`` ranks them: the channel multiple where known, else the niche multiple; ``basis`` says which.

:func:`draft_usual_views` gives a draft (a video not yet stored) the same channel baseline, for the prediction
API's outlier multiple: training, ideas and the API all use ``miles.features.channel.usual_views``.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from miles.features.build import prepare_snapshots
from miles.features.channel import UsualViews, usual_views_before
from miles.features.labels import ViralLabeler, outlier_multiples

MIN_REFERENCE_ROWS = 200


def fit_reference_labeler(frame: pd.DataFrame) -> ViralLabeler | None:
    """The expectation model on every stored video's latest snapshot (None when too little data)."""
    if len(frame) < MIN_REFERENCE_ROWS:
        return None
    snaps = prepare_snapshots(frame)
    latest = snaps.drop_duplicates("video_id", keep="last")
    x = _expectation_inputs(latest)
    return ViralLabeler.fit(x, np.log1p(latest["views"].to_numpy(dtype=float)))


def _expectation_inputs(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age_h": rows["age_h"].to_numpy(dtype=float),
            "category_id": rows["category_id"].to_numpy(),
            "log_subscribers": np.log1p(rows["channel_subscribers"].to_numpy(dtype=float)),
        },
        index=rows.index,
    )


def draft_usual_views(
    history: pd.DataFrame, *, channel_id: str, published_at: datetime, age_h: float
) -> UsualViews | None:
    """The channel's usual views at ``age_h`` for a draft published at ``published_at``, from ``history`` (the
    channel's stored snapshots, interchange format) as known at publish; None without earlier uploads then."""
    if history.empty:
        return None
    snaps = prepare_snapshots(history)
    return usual_views_before(snaps, channel_id=channel_id, published_at=published_at, as_of=published_at, age_h=age_h)


def niche_outliers(niche: pd.DataFrame, history: pd.DataFrame, labeler: ViralLabeler | None) -> pd.DataFrame:
    """One row per niche video (latest snapshot), most outstanding first."""
    if niche.empty:
        return pd.DataFrame(columns=["video_id", "title", "views", "age_h", "multiple", "basis"])
    combined = pd.concat([niche, history], ignore_index=True).drop_duplicates(["video_id", "captured_at"])
    snaps = prepare_snapshots(combined)
    snaps["channel_multiple"] = outlier_multiples(snaps)
    latest = snaps.drop_duplicates("video_id", keep="last")
    latest = latest[latest["video_id"].isin(set(niche["video_id"]))].copy()
    log_views = np.log1p(latest["views"].to_numpy(dtype=float))
    if labeler is not None:
        latest["niche_multiple"] = np.exp(log_views - labeler.expected(_expectation_inputs(latest)))
    else:
        latest["niche_multiple"] = np.exp(log_views - np.median(log_views))
    has_channel = latest["channel_multiple"].notna().to_numpy()
    latest["multiple"] = np.where(has_channel, latest["channel_multiple"], latest["niche_multiple"])
    latest["basis"] = np.where(has_channel, "channel", "niche")
    keep = [
        "video_id",
        "title",
        "channel_id",
        "views",
        "age_h",
        "published_at",
        "captured_at",
        "duration_s",
        "category_id",
        "channel_subscribers",
        "multiple",
        "channel_multiple",
        "niche_multiple",
        "basis",
        "description",
        "tags",
    ]
    extra = [c for c in ("thumbnail_url", "channel_title") if c in latest.columns]
    return latest[keep + extra].sort_values("multiple", ascending=False).reset_index(drop=True)
