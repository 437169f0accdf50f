"""Age-normalised outliers (DESIGN.md §3.2), so a 2-hour-old video and a 2-week-old one compare fairly.

Each niche video gets, at its latest snapshot:
- ``channel_multiple``: views ÷ its channel's median views at the same age over strictly earlier uploads
  (``miles.features.labels.outlier_multiples``), where that history exists;
- ``niche_multiple``: exp(age-adjusted residual): views ÷ what a typical video of its category and channel
  size gets at that age (the ``ViralLabeler`` expectation model, fitted on the store's data).
``multiple`` is the channel multiple, and only that (DESIGN.md §3.2: "shown where channel history exists"): a
video whose channel has no earlier upload stored at its age has ``multiple`` None and ``basis`` "unknown" (its
channel's usual views are unknown). The niche multiple is no stand-in for it: it is what the expectation model
guesses for *any* channel of that category and size, and the guess carried the gaps of the data - a Samsung video
with 21M views read 10,927x because the Japanese search data has no channel ids, and the model's Science & Tech
effect was learned from small French tech channels, so it expected ~2,000 views. ``rank_multiple`` (the channel
multiple, else the niche one) only orders the videos and feeds the patterns, whose with-vs-without ratios compare
videos of the same niche with each other. ``baseline_count`` says how many uploads stand behind a multiple (in the
same age window, ``age_window``) and ``basis_views`` the views it divides by. A multiple over fewer than
``MIN_BASELINE`` (5) uploads, or over a basis of fewer than ``MIN_BASIS_VIEWS`` views (``tiny_base``), is flagged
(``trusted`` False) and ranked after every trusted one: 2,678x over a channel's two tiny earlier uploads, or 283x over
a channel that usually gets 154 views, says more about the baseline than about the video. Videos of unknown basis
come last (never trusted), by ``rank_multiple``.

:func:`draft_usual_views` gives a draft (a video not yet stored) the same channel baseline, for the prediction
API's outlier multiple: training, ideas and the API all use ``miles.features.channel.usual_views``.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from miles.features.build import prepare_snapshots
from miles.features.channel import UsualViews, usual_views_before
from miles.features.labels import ViralLabeler, outlier_baselines
from miles.features.schema import AGE_EDGES_H, age_bucket

MIN_REFERENCE_ROWS = 200
MIN_BASELINE = 5  # fewer videos behind a multiple than this: shown, flagged, never ranked above a trusted one
# A basis of a few hundred views is the size of one share or one lucky push of the feed: the multiple over it grows
# with how small the basis is (283x over a channel's usual 154 views), not with how much better the video did, and
# a creator copying it would be chasing noise. Below this the multiple is shown, flagged and ranked like a thin one.
MIN_BASIS_VIEWS = 1_000


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


def age_window(age_h: float) -> str:
    """The age bucket a multiple compares within, in words ("1–3 d", "6–12 h")."""
    i = int(age_bucket(np.array([age_h]))[0])
    edges = (*AGE_EDGES_H, float("inf"))
    return f"{_hours(edges[i])}–{_hours(edges[i + 1])}" if edges[i + 1] != float("inf") else f"over {_hours(edges[i])}"


def _hours(h: float) -> str:
    return f"{h / 24:g} d" if h >= 24 else f"{h:g} h"


UNKNOWN_BASIS_KIND = "none: no earlier upload of its channel is stored at this age, so its usual views are unknown"


def niche_outliers(niche: pd.DataFrame, history: pd.DataFrame, labeler: ViralLabeler | None) -> pd.DataFrame:
    """One row per niche video (latest snapshot): trusted multiples first (a baseline of at least ``MIN_BASELINE``
    uploads and ``MIN_BASIS_VIEWS`` views), each by size, then the flagged ones, then those of unknown basis;
    ``baseline_count``/``baseline_kind``/``basis_views`` say what the multiple compares with."""
    if niche.empty:
        columns = ["video_id", "title", "views", "age_h", "multiple", "rank_multiple", "basis", "basis_views"]
        return pd.DataFrame(columns=[*columns, "tiny_base", "trusted"])
    combined = pd.concat([niche, history], ignore_index=True).drop_duplicates(["video_id", "captured_at"])
    snaps = prepare_snapshots(combined)
    baselines = outlier_baselines(snaps)
    snaps["channel_multiple"] = baselines["multiple"]
    snaps["channel_baseline_count"] = baselines["baseline_count"]
    latest = snaps.drop_duplicates("video_id", keep="last")
    latest = latest[latest["video_id"].isin(set(niche["video_id"]))].copy()
    log_views = np.log1p(latest["views"].to_numpy(dtype=float))
    if labeler is not None:
        # one expectation model (age, category, channel size) fitted on every stored video - not a cell of them
        latest["niche_multiple"] = np.exp(log_views - labeler.expected(_expectation_inputs(latest)))
    else:
        latest["niche_multiple"] = np.exp(log_views - np.median(log_views))
    has_channel = latest["channel_multiple"].notna().to_numpy()
    latest["multiple"] = latest["channel_multiple"].astype(float)
    latest["rank_multiple"] = np.where(has_channel, latest["channel_multiple"], latest["niche_multiple"])
    latest["basis"] = np.where(has_channel, "channel", "unknown")
    latest["baseline_count"] = np.where(has_channel, latest["channel_baseline_count"], 0).astype(int)
    latest["baseline_kind"] = np.where(has_channel, "earlier uploads of its channel", UNKNOWN_BASIS_KIND)
    latest["age_window"] = [age_window(a) for a in latest["age_h"]]
    latest["basis_views"] = np.expm1(log_views - np.log(latest["multiple"].to_numpy(dtype=float)))
    latest["tiny_base"] = latest["basis_views"] < MIN_BASIS_VIEWS  # False where unknown (NaN)
    latest["trusted"] = has_channel & (latest["baseline_count"] >= MIN_BASELINE) & ~latest["tiny_base"]
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
        "rank_multiple",
        "channel_multiple",
        "niche_multiple",
        "basis",
        "baseline_count",
        "baseline_kind",
        "basis_views",
        "tiny_base",
        "age_window",
        "trusted",
        "description",
        "tags",
        "source",
    ]
    extra = [c for c in ("thumbnail_url", "channel_title") if c in latest.columns]
    ranked = latest[keep + extra].assign(_known=has_channel)
    ranked = ranked.sort_values(["trusted", "_known", "rank_multiple"], ascending=[False, False, False])
    return ranked.drop(columns="_known").reset_index(drop=True)
