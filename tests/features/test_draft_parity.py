"""The per-row draft path gives exactly the features of training's ``build_features``, on real videos.

Three checks, NaN-aware and exact (no tolerance): the text group on every stored video's title, description
and tags; the per-row path against the reference path (``build_features`` through the guarded context) for
batches of drafts made from real videos, prepublish and early, with and without channel ids, subscriber
counts, countries and extra columns; and drafts mirroring stored videos against ``build_dataset`` rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from miles.collect.files import read_file
from miles.features.build import build_dataset
from miles.features.draft import Draft, draft_matrix, reference_features
from miles.features.registry import feature_names
from miles.features.schema import Task
from miles.features.text import row as text_row
from miles.features.text import text_stats

FILES = (
    "mftn_tech_channels_2026/recent_uploads_snapshots.parquet",
    "jp_keyword_search_2025/videos_complete_6062.parquet",
    "fedelux3_trending_intraday_2019_2020/trending_snapshots.parquet",
)
HORIZONS = (0.5, 1.0, 3.3, 6.0, 24.0, 48.0, 168.0, 720.0, 2000.0)
SUBSCRIBER_COLUMNS = ("log_subscribers", "subscribers_staleness_d")
META = ("title", "description", "tags", "duration_s", "category_id", "country", "channel_id")


@pytest.fixture(scope="module")
def snapshots(shared_data: Path) -> pd.DataFrame:
    frames = [read_file(shared_data / name).frame.drop(columns="_row", errors="ignore") for name in FILES]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def videos(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Each stored video's metadata (its latest snapshot's, as in the store)."""
    ordered = snapshots.sort_values("captured_at", kind="stable")
    return ordered.drop_duplicates("video_id", keep="last").reset_index(drop=True)


def _text(value: object) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else str(value)


def assert_same(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Equal columns, dtypes and values; NaN equals NaN, nothing else is tolerated."""
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), ref.reset_index(drop=True), check_exact=True)


def test_text_group_equals_text_stats_on_every_stored_video(videos: pd.DataFrame) -> None:
    ref = text_stats(videos["title"], videos["description"], videos["tags"])
    tags = videos["tags"].astype("string").astype(object)
    rows = [
        text_row(_text(t) or "", _text(d), _text(g))
        for t, d, g in zip(videos["title"].astype(object), videos["description"].astype(object), tags, strict=True)
    ]
    fast = pd.DataFrame(rows, columns=list(ref.columns), index=ref.index)
    assert len(fast) > 20_000 and fast["script"].nunique() >= 5  # many languages were compared
    numeric = ref.columns.drop("script")
    pd.testing.assert_frame_equal(fast[numeric], ref[numeric], check_exact=True, check_dtype=False)
    assert (fast["script"].fillna("-") == ref["script"].astype(object).fillna("-")).all()


def _drafts(videos: pd.DataFrame, snapshots: pd.DataFrame, n: int, seed: int) -> list[Draft]:
    """Drafts from real videos: their metadata, early views from their snapshots, varied optional fields."""
    rng = np.random.default_rng(seed)
    with_history = snapshots.groupby("video_id").size()
    many = videos.loc[videos["video_id"].map(with_history) >= 3]
    picked = pd.concat([many.sample(n // 2, random_state=seed), videos.sample(n - n // 2, random_state=seed + 1)])
    out = []
    for k, v in enumerate(picked.itertuples(index=False)):
        own = snapshots.loc[snapshots["video_id"] == v.video_id].sort_values("captured_at")
        ages = ((own["captured_at"] - v.published_at).dt.total_seconds() / 3600.0).to_numpy()
        views = own["views"].to_numpy(dtype=float)
        keep = np.flatnonzero((ages > 0) & (ages < HORIZONS[-1] - 1))[: int(rng.integers(1, 7))]
        out.append(
            Draft(
                title=str(v.title),
                publish_at=v.published_at.to_pydatetime(),
                description=_text(v.description),
                tags=(_text(v.tags) or "").split("|") if _text(v.tags) else [],
                duration_s=None if pd.isna(v.duration_s) else float(v.duration_s),
                category_id=None if pd.isna(v.category_id) else int(v.category_id),
                channel_subscribers=None
                if k % 3 == 0 or pd.isna(v.channel_subscribers)
                else float(v.channel_subscribers),
                country=_text(v.country) if k % 4 else "JP",
                channel_id=_text(v.channel_id) if k % 5 else "shared-channel",  # several drafts share a channel
                early_views=[(float(ages[i]), float(views[i])) for i in keep] or [(1.0 + k / 7.0, float(k))],
            )
        )
    return out


@pytest.mark.parametrize("task", ["prepublish", "early"])
def test_per_row_path_equals_build_features(
    task: Task, videos: pd.DataFrame, snapshots: pd.DataFrame, extra_group: str
) -> None:
    drafts = _drafts(videos, snapshots, 40, seed=3 if task == "early" else 4)
    rng = np.random.default_rng(5)
    extra = pd.DataFrame({"extra_a": rng.normal(size=len(drafts)), "extra_b": rng.normal(size=len(drafts))})
    extra.loc[::3, "extra_b"] = np.nan
    groups = [*feature_groups(task), extra_group]
    fast = draft_matrix(drafts, task=task, horizons_h=HORIZONS, groups=groups, extra=extra)
    ref, rows = reference_features(drafts, task=task, horizons_h=HORIZONS, groups=groups, extra=extra)
    assert len(ref) > 100 and ref["extra_a"].notna().all()
    assert_same(fast.to_frame(), ref)
    pd.testing.assert_frame_equal(fast.rows(), rows, check_dtype=False)
    if task == "early":
        assert ref["early_inc_3"].notna().any() and ref["early_inc_1"].notna().all()
    assert ref["log_subscribers"].notna().any() and ref["publish_hour_local"].notna().any()


def feature_groups(task: Task) -> list[str]:
    from miles.features.registry import DEFAULT_GROUPS

    return list(DEFAULT_GROUPS[task])


def _mirror(video: pd.DataFrame, t_i: float) -> Draft:
    """A draft of a stored video: the same metadata, and its snapshots up to ``t_i`` as early views."""
    v = video.iloc[-1]
    seen = video.loc[video["age_h"] <= t_i] if t_i > 0 else video.iloc[0:0]
    return Draft(
        title=str(v["title"]),
        publish_at=v["published_at"].to_pydatetime(),
        description=_text(v["description"]),
        tags=(_text(v["tags"]) or "").split("|") if _text(v["tags"]) else [],
        duration_s=None if pd.isna(v["duration_s"]) else float(v["duration_s"]),
        category_id=None if pd.isna(v["category_id"]) else int(v["category_id"]),
        country=_text(v["country"]),
        channel_id=_text(v["channel_id"]),
        early_views=list(zip(seen["age_h"].astype(float), seen["views"].astype(float), strict=True)),
    )


@pytest.mark.parametrize("task", ["prepublish", "early"])
def test_draft_of_a_stored_video_gets_its_training_row(task: Task, snapshots: pd.DataFrame) -> None:
    """Training rows of single real videos (alone in their frame, so no channel record) equal their drafts'.

    The subscriber columns differ by design: a draft states its count at publish, a stored video's count was
    observed at some snapshot; everything else must match.
    """
    counts = snapshots.groupby("video_id").size()
    # Videos whose metadata is the same in every snapshot (fedelux3 videos trend in several countries).
    fixed = snapshots.astype({c: "string" for c in META}).groupby("video_id")[list(META)].nunique(dropna=False)
    fixed = fixed.index[(fixed <= 1).all(axis=1)]
    chosen = counts[(counts >= 3) & counts.index.isin(fixed)].sample(12, random_state=8).index
    compared = 0
    for vid in chosen:
        frame = snapshots.loc[snapshots["video_id"] == vid]
        data = build_dataset(task, frame)
        meta = data.meta
        video = frame.assign(age_h=(frame["captured_at"] - frame["published_at"]).dt.total_seconds() / 3600.0)
        video = video.sort_values("captured_at")
        for t_i in sorted(set(meta["t_i_h"].fillna(0.0)))[:3]:
            at = np.flatnonzero(meta["t_i_h"].fillna(0.0).to_numpy() == t_i)
            draft = _mirror(video, t_i)
            fast = draft_matrix([draft], task=task, horizons_h=list(meta["age_h"].iloc[at])).to_frame()
            same = [c for c in feature_names(task) if c not in SUBSCRIBER_COLUMNS]
            assert_same(fast[same], data.X.iloc[at][same])
            compared += len(at)
    assert compared >= 20
