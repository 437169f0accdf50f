"""Leave-one-source-out, the second headline (DESIGN.md §3.3 rule 8), on a small sample of all three sources."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from miles.jobs.train import frame_from_files
from miles.model.train import TrainConfig, train


@pytest.fixture(scope="module")
def three_sources(shared_data: Path) -> pd.DataFrame:
    frame = frame_from_files([shared_data])
    parts = []
    for _source, part in frame.groupby("source"):
        videos = sorted(part["video_id"].unique())[:: max(1, part["video_id"].nunique() // 900)]
        parts.append(part.loc[part["video_id"].isin(videos)])
    return pd.concat(parts, ignore_index=True)


@pytest.mark.slow
def test_every_source_is_held_out_once_beside_baselines_on_the_same_rows(
    three_sources: pd.DataFrame, tmp_path: Path
) -> None:
    cfg = TrainConfig(task="prepublish", text_embedding=False, n_boot=10)
    result = train(three_sources, cfg, tmp_path / "artifact")
    loso = result.metrics["leave_one_source_out"]
    in_source = result.metrics["test_by_source"]
    assert set(loso) == set(three_sources["source"].unique())
    for source, report in loso.items():
        assert source not in report["trained_on"] and len(report["trained_on"]) == 2
        assert report["rows"] == in_source[source]["rows"]  # the same test rows as the in-source table
        assert {"model (lightgbm)", "age", "channel_size_age", "category", "ordinary_level"} <= set(report["metrics"])
        assert 0.0 < report["coverage_p10_p90"] <= 1.0  # how often the interval held out of source
        for metrics in report["metrics"].values():
            assert metrics["mae_log10"]["value"] is not None
