"""One definition of "the channel's usual views at this age" (features.channel.usual_views), shared by the
training feature ``channel_baseline_log_views``, the ``outlier_multiple`` label, ideas' outliers and the
prediction API's outlier multiple (``recommend.outliers.draft_usual_views``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from miles.features.build import build_dataset, prepare_snapshots
from miles.features.channel import UsualViews, outlier_multiple, usual_views_before
from miles.features.labels import outlier_multiples
from miles.recommend.outliers import draft_usual_views, niche_outliers

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DRAFT_AT = T0 + timedelta(days=40)


def _snap(video: str, channel: str, published: datetime, age_h: float, views: int) -> dict[str, object]:
    return {"video_id": video, "channel_id": channel, "title": video, "published_at": published,
            "captured_at": published + timedelta(hours=age_h), "views": views}  # fmt: skip


def history() -> pd.DataFrame:
    """Channel C: four uploads before DRAFT_AT (snapshots at ~1 h, ~7 d), one after it; channel D: one upload."""
    rows = []
    for i, week_views in enumerate((5_000, 20_000, 10_000, 40_000)):
        pub = T0 + timedelta(days=8 * i)
        rows += [_snap(f"v{i}", "C", pub, 1.0, 100 * (i + 1)), _snap(f"v{i}", "C", pub, 168.0 + i, week_views)]
    rows.append(_snap("v0", "C", T0, 200.0, 6_000))  # same age bucket as 168 h, later: the upload's latest there
    rows.append(_snap("v3", "C", T0 + timedelta(days=24), 400.0, 99_999))  # captured after DRAFT_AT: unseen
    rows.append(_snap("late", "C", DRAFT_AT + timedelta(days=1), 168.0, 1))  # published after the draft
    rows.append(_snap("other", "D", T0, 168.0, 1_000_000))  # another channel
    return pd.DataFrame(rows)


def test_usual_views_is_the_median_of_earlier_uploads_at_a_comparable_age() -> None:
    snaps = prepare_snapshots(history())
    usual = usual_views_before(snaps, channel_id="C", published_at=DRAFT_AT, as_of=DRAFT_AT, age_h=168.0)
    assert usual is not None and usual.uploads == 4
    # v0 at 200 h (6,000) replaces its 168 h snapshot; v3's 400 h snapshot lies in a later bucket.
    assert usual.log_views == float(np.median(np.log1p([6_000, 20_000, 10_000, 40_000])))
    assert usual.views == pytest.approx(np.expm1(np.mean(np.log1p([10_000, 20_000]))))
    assert usual.multiple(usual.views) == pytest.approx(1.0)
    young = usual_views_before(snaps, channel_id="C", published_at=DRAFT_AT, as_of=DRAFT_AT, age_h=1.0)
    assert young is not None and young.log_views == float(np.median(np.log1p([100, 200, 300, 400])))
    # Only uploads published before the draft, captured by as_of; none before the first upload.
    first = usual_views_before(snaps, channel_id="C", published_at=T0, as_of=T0, age_h=168.0)
    assert first is None
    assert usual_views_before(snaps, channel_id="nobody", published_at=DRAFT_AT, as_of=DRAFT_AT, age_h=168) is None


def test_the_outlier_multiple_is_views_over_the_usual_views() -> None:
    assert outlier_multiple(np.array([9.0, 99.0]), np.log1p(np.array([9.0, 4.0]))).tolist() == pytest.approx([1, 20])
    assert UsualViews(24.0, float(np.log1p(49.0)), 3).multiple(99.0) == pytest.approx(2.0)


def test_training_labels_ideas_and_api_share_the_definition() -> None:
    frame = history()
    snaps = prepare_snapshots(frame)
    # Training: the channel_baseline_log_views feature of v3's 7-day example (as of its publish time).
    data = build_dataset("prepublish", frame)
    at = np.flatnonzero((data.meta["video_id"] == "v3").to_numpy() & (data.meta["age_h"] == 171.0).to_numpy())[0]
    pub3 = T0 + timedelta(days=24)
    usual = usual_views_before(snaps, channel_id="C", published_at=pub3, as_of=pub3, age_h=171.0)
    assert usual is not None and data.X["channel_baseline_log_views"].iloc[at] == usual.log_views
    assert data.X["channel_baseline_count"].iloc[at] == usual.uploads == 3
    # The label: v3's 7-day snapshot against the uploads as known at its capture.
    row = int(np.flatnonzero((snaps["video_id"] == "v3").to_numpy() & (snaps["age_h"] == 171.0).to_numpy())[0])
    seen = pub3 + timedelta(hours=171)
    at_capture = usual_views_before(snaps, channel_id="C", published_at=pub3, as_of=seen, age_h=171.0)
    assert at_capture is not None and outlier_multiples(snaps)[row] == at_capture.multiple(40_000)
    assert data.y["outlier_multiple"].iloc[at] == at_capture.multiple(40_000)
    # Ideas: a niche video's channel multiple is the label at its latest snapshot.
    niche = niche_outliers(frame[frame["video_id"] == "v2"], frame, labeler=None)
    latest_v2 = int(np.flatnonzero((snaps["video_id"] == "v2").to_numpy())[-1])
    assert niche["channel_multiple"].iloc[0] == outlier_multiples(snaps)[latest_v2]
    # The API: a draft of channel C published at DRAFT_AT.
    api = draft_usual_views(frame, channel_id="C", published_at=DRAFT_AT, age_h=168.0)
    direct = usual_views_before(snaps, channel_id="C", published_at=DRAFT_AT, as_of=DRAFT_AT, age_h=168.0)
    assert api == direct
    assert draft_usual_views(frame.iloc[0:0], channel_id="C", published_at=DRAFT_AT, age_h=168.0) is None
