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
- ``channel_baseline_log_views``: median over the channel's uploads published strictly before this video of
  log1p(views) at a comparable age - their latest snapshot captured by ``as_of`` whose age falls in the
  same age bucket as the asked-about age - with ``channel_baseline_count`` uploads behind it.
- ``channel_prior_*``: the same uploads at their latest snapshot by ``as_of`` whatever its age.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import Feature, FeatureGroup, age_bucket


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


def channel_record(uploads: pd.DataFrame, keys: pd.DataFrame, asked_age_h: pd.Series) -> pd.DataFrame:
    """Median log views of earlier uploads, overall and at a comparable age, per example.

    ``uploads`` comes from ``FeatureContext.earlier_uploads``; ``keys`` holds each example's ``key``;
    ``asked_age_h`` is each example's asked-about age. Returns one row per example (same index as ``keys``).
    """
    uploads = uploads.assign(
        log_views=np.log1p(uploads["views"].astype(float)), log_age_h=np.log1p(uploads["age_h"].astype(float))
    )
    latest = _latest_per_upload(uploads, ["key"])
    prior = latest.groupby("key").agg(
        channel_prior_uploads=("upload_id", "size"),
        channel_prior_median_log_views=("log_views", "median"),
        channel_prior_median_log_age_h=("log_age_h", "median"),
    )
    uploads["bucket"] = age_bucket(uploads["age_h"])
    same_age = _latest_per_upload(uploads, ["key", "bucket"])
    baseline = same_age.groupby(["key", "bucket"]).agg(
        channel_baseline_log_views=("log_views", "median"), channel_baseline_count=("upload_id", "size")
    )
    wanted = pd.MultiIndex.from_arrays([keys["key"].to_numpy(), age_bucket(asked_age_h)], names=["key", "bucket"])
    out = baseline.reindex(wanted).set_axis(keys.index)
    out = out.join(prior.reindex(keys["key"].to_numpy()).set_axis(keys.index))
    for col in ("channel_baseline_count", "channel_prior_uploads"):
        out[col] = out[col].fillna(0.0)
    return out


def _compute(ctx: FeatureContext) -> pd.DataFrame:
    subs = ctx.expand_keys(_subscribers(ctx))
    record = channel_record(ctx.earlier_uploads(), ctx.examples, ctx.examples["age_h"])
    no_channel = ctx.examples["channel_id"].isna()
    record.loc[no_channel, ["channel_baseline_count", "channel_prior_uploads"]] = np.nan
    return pd.concat([subs, record], axis=1)


GROUP = FeatureGroup(
    name="channel",
    doc="Channel size and record as of as_of (see module docstring for the exact rules).",
    compute=_compute,
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
