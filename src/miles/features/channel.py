"""Channel context as of ``as_of``: subscribers and the channel's record on its strictly earlier uploads.

Rules (docs/evaluation.md):
- ``log_subscribers``: log1p of the channel's subscriber count *around publish*: the observation (any snapshot
  of any video of the channel; a video without a channel id uses its own snapshots) nearest to the publish
  time among those captured from 30 days before publishing up to 7 days after it, or up to ``as_of`` when
  that is later (early task); otherwise missing. Declared knowledge time: max(as_of, publish + 7 d), enforced
  by ``FeatureContext.subscribers_near_publish``. Leakage risk, stated: a count taken after publishing can
  include subscribers the video itself brought. On established channels this is bounded (mftn, two weeks:
  median channel unchanged at 3 significant figures, 90th percentile +2.1 %); for a small channel whose video
  goes viral it is not, so the bound after publishing is kept to days, and ``subscribers_staleness_d`` tells
  the model how far from publish the count was taken. Drafts give their count at publish (distance 0).
- ``channel_baseline_log_views``: the channel's usual views at this age (:func:`usual_views`, the one
  definition that training, the outlier multiple, the prediction API and ideas share): median over the
  channel's uploads published strictly before this video of log1p(views) at a comparable age - their latest
  snapshot captured by ``as_of`` whose age falls in the same age bucket as the asked-about age - with
  ``channel_baseline_count`` uploads behind it.
- ``channel_prior_*``: the same uploads at their latest snapshot by ``as_of`` whatever its age.

A draft without stored channel history (``_per_row``) has its own count at publish and no earlier uploads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import DraftRows, Feature, FeatureGroup, age_bucket


def _subscribers(ctx: FeatureContext) -> pd.DataFrame:
    subs = ctx.subscribers_near_publish()
    pub = ctx.keys["published_at"].reindex(subs.index)
    offset = (pd.to_datetime(subs["subscribers_captured_at"], utc=True) - pub).dt.total_seconds() / 86400.0
    return pd.DataFrame(
        {"log_subscribers": np.log1p(subs["subscribers"].astype(float)), "subscribers_staleness_d": offset.abs()},
        index=subs.index,
    )


def _latest_per_upload(uploads: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    ordered = uploads.sort_values("captured_at", kind="stable")
    return ordered.drop_duplicates([*by, "upload_id"], keep="last")


def _with_logs(uploads: pd.DataFrame) -> pd.DataFrame:
    return uploads.assign(
        log_views=np.log1p(uploads["views"].astype(float)), log_age_h=np.log1p(uploads["age_h"].astype(float))
    )


def usual_views(uploads: pd.DataFrame, keys: pd.DataFrame, asked_age_h: pd.Series | np.ndarray) -> pd.DataFrame:
    """The channel's usual views at this age, per example: ``channel_baseline_log_views`` (median log1p(views)
    of the earlier uploads' latest snapshots by ``as_of`` in the asked age's bucket; NaN without any) and
    ``channel_baseline_count`` (how many uploads are behind it; 0 without any).

    ``uploads`` comes from ``FeatureContext.earlier_uploads``; ``keys`` holds each example's ``key``;
    ``asked_age_h`` is each example's asked-about age. Returns one row per example (same index as ``keys``).
    """
    uploads = _with_logs(uploads)
    uploads["bucket"] = age_bucket(uploads["age_h"])
    same_age = _latest_per_upload(uploads, ["key", "bucket"])
    baseline = same_age.groupby(["key", "bucket"]).agg(
        channel_baseline_log_views=("log_views", "median"), channel_baseline_count=("upload_id", "size")
    )
    wanted = pd.MultiIndex.from_arrays([keys["key"].to_numpy(), age_bucket(asked_age_h)], names=["key", "bucket"])
    out = baseline.reindex(wanted).set_axis(keys.index)
    out["channel_baseline_count"] = out["channel_baseline_count"].fillna(0.0)
    return out


@dataclass(frozen=True)
class UsualViews:
    """The channel's usual views at one age, as of one moment (see :func:`usual_views`)."""

    age_h: float
    log_views: float  # median log1p(views)
    uploads: int

    @property
    def views(self) -> float:
        return float(np.expm1(self.log_views))

    def multiple(self, views: float) -> float:
        """The outlier multiple of ``views`` at this age."""
        return float(outlier_multiple(np.array([views]), np.array([self.log_views]))[0])


def outlier_multiple(views: np.ndarray, usual_log_views: np.ndarray) -> np.ndarray:
    """Views relative to the channel's usual views (DESIGN.md §3.2): exp(log1p(views) - usual log views)."""
    out: np.ndarray = np.exp(np.log1p(np.asarray(views, dtype=float)) - np.asarray(usual_log_views, dtype=float))
    return out


def usual_views_before(
    snaps: pd.DataFrame, *, channel_id: str, published_at: datetime, as_of: datetime, age_h: float
) -> UsualViews | None:
    """:func:`usual_views` for one video not (yet) stored - a draft - of ``channel_id`` published at
    ``published_at``, from a prepared snapshot frame (``build.prepare_snapshots``) of the channel's uploads,
    reading only what was captured by ``as_of``; None when no earlier upload has a snapshot at that age."""
    pub, seen = pd.Timestamp(published_at), pd.Timestamp(as_of)
    example = pd.DataFrame(
        {
            "key": [0], "video_id": ["draft:usual-views"], "group_id": [channel_id],
            "channel_id": pd.array([channel_id], dtype="string"), "published_at": [pub], "as_of": [seen],
        }
    )  # fmt: skip
    ctx = FeatureContext(task="early", examples=example, snapshots=snaps)
    found = usual_views(ctx.earlier_uploads(), example, np.array([age_h])).iloc[0]
    if found["channel_baseline_count"] == 0:
        return None
    return UsualViews(float(age_h), float(found["channel_baseline_log_views"]), int(found["channel_baseline_count"]))


def channel_record(uploads: pd.DataFrame, keys: pd.DataFrame, asked_age_h: pd.Series) -> pd.DataFrame:
    """The channel group's record columns per example: :func:`usual_views` and the ``channel_prior_*`` medians."""
    uploads = _with_logs(uploads)
    latest = _latest_per_upload(uploads, ["key"])
    prior = latest.groupby("key").agg(
        channel_prior_uploads=("upload_id", "size"),
        channel_prior_median_log_views=("log_views", "median"),
        channel_prior_median_log_age_h=("log_age_h", "median"),
    )
    out = usual_views(uploads, keys, asked_age_h)
    out = out.join(prior.reindex(keys["key"].to_numpy()).set_axis(keys.index))
    out["channel_prior_uploads"] = out["channel_prior_uploads"].fillna(0.0)
    return out


def _compute(ctx: FeatureContext) -> pd.DataFrame:
    subs = ctx.expand_keys(_subscribers(ctx))
    record = channel_record(ctx.earlier_uploads(), ctx.examples, ctx.examples["age_h"])
    no_channel = ctx.examples["channel_id"].isna()
    record.loc[no_channel, ["channel_baseline_count", "channel_prior_uploads"]] = np.nan
    return pd.concat([subs, record], axis=1)


def _per_row(rows: DraftRows) -> dict[str, np.ndarray]:
    """No stored channel history: the draft's own subscriber count (observed at publish: 0 days off) and no
    earlier uploads (0 with a channel id, NaN without one, as ``_compute`` gives)."""
    subs = np.array([np.nan if d.channel_subscribers is None else float(d.channel_subscribers) for d in rows.drafts])
    count = np.array([np.nan if d.channel_id is None else 0.0 for d in rows.drafts])
    nan = np.full(len(rows.draft), np.nan)
    return {
        "log_subscribers": np.log1p(subs)[rows.draft],
        "subscribers_staleness_d": np.where(np.isnan(subs), np.nan, 0.0)[rows.draft],
        "channel_baseline_log_views": nan,
        "channel_baseline_count": count[rows.draft],
        "channel_prior_uploads": count[rows.draft],
        "channel_prior_median_log_views": nan,
        "channel_prior_median_log_age_h": nan,
    }


GROUP = FeatureGroup(
    name="channel",
    doc="Channel size and record as of as_of (see module docstring for the exact rules).",
    compute=_compute,
    per_row=_per_row,
    features=(
        Feature("log_subscribers", doc="log1p(subscribers) nearest to publish, from publish - 30 d to publish + 7 d"),
        Feature("subscribers_staleness_d", doc="days between publish and that count (before or after)"),
        Feature("channel_baseline_log_views", doc="median log1p(views) of earlier uploads at a comparable age"),
        Feature("channel_baseline_count", doc="earlier uploads behind the baseline (NaN: no channel id)"),
        Feature("channel_prior_uploads", doc="earlier uploads with a snapshot by as_of"),
        Feature("channel_prior_median_log_views", doc="their median log1p(views) at the latest snapshot"),
        Feature("channel_prior_median_log_age_h", doc="median log1p(age in hours) of those snapshots"),
    ),
)
