"""The ordinary-upload level and the sampling-frame shift (miles.model.level), on synthetic rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.features.labels import ViralLabeler
from miles.model.level import OrdinaryLevel

SLOPE = 0.6
TRENDING_UPLIFT = 3.0


def _rows(n: int, frame: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    age = np.exp(rng.uniform(0, np.log(2000), n))
    subs = np.exp(rng.uniform(np.log(100), np.log(1e6), n))
    log_views = 1.0 + 0.8 * np.log1p(age) + SLOPE * np.log1p(subs) + rng.normal(0, 0.3, n)
    source = {"ordinary": "mftn_tech", "trending": "fedelux3_trending"}[frame]
    if frame == "trending":
        log_views += TRENDING_UPLIFT
        subs[:] = np.nan  # trending lists carry no subscriber counts
    x = pd.DataFrame({"age_h": age, "log_subscribers": np.log1p(subs), "category_id": "28"})
    x["category_id"] = pd.Categorical(x["category_id"])
    return x, pd.DataFrame({"log_views": log_views, "source": source})


def _fit() -> tuple[OrdinaryLevel, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    parts = [_rows(3000, "ordinary", rng), _rows(3000, "trending", rng)]
    x = pd.concat([p[0] for p in parts], ignore_index=True)
    y = pd.concat([p[1] for p in parts], ignore_index=True)
    labeler = ViralLabeler.fit(x, y["log_views"])
    level = OrdinaryLevel()
    level.fit(x, y, labeler=labeler)
    return level, x, y


def test_level_is_fitted_on_ordinary_uploads_and_the_trending_uplift_goes_to_the_shift() -> None:
    level, x, y = _fit()
    assert abs(level.state["slope"] - SLOPE) < 0.1
    ordinary = (y["source"] == "mftn_tech").to_numpy()
    resid = y["log_views"].to_numpy() - level.predict_log_views(x)
    assert abs(np.median(resid[ordinary])) < 0.1  # the level is the ordinary uploads' level
    shift = level.frame_shift(x, y["source"])
    assert (shift[ordinary] == 0).all()
    # trending rows' subscribers are blank (typical count): their shift absorbs the uplift and the size difference
    assert abs(np.median(resid[~ordinary] - shift[~ordinary])) < 0.15
    assert np.median(shift[~ordinary]) > TRENDING_UPLIFT - 1.0


def test_level_rises_with_age_and_never_falls_with_subscribers() -> None:
    level, _, _ = _fit()
    ages = np.array([0.5, 1, 6, 24, 168, 720, 2000.0])
    grid = pd.DataFrame({"age_h": ages, "log_subscribers": np.log1p(1e4)})
    assert (np.diff(level.predict_log_views(grid)) > 0).all()
    subs = pd.DataFrame({"age_h": 24.0, "log_subscribers": np.log1p([10, 1e3, 1e5, 1e7])})
    assert (np.diff(level.predict_log_views(subs)) >= 0).all()


def test_blank_subscribers_mean_the_typical_channel() -> None:
    level, _, _ = _fit()
    typical = level.state["typical_log_subscribers"]
    rows = pd.DataFrame({"age_h": [24.0, 24.0], "log_subscribers": [typical, np.nan]})
    a, b = level.predict_log_views(rows)
    assert a == b


def test_unseen_frames_get_no_shift_and_the_state_round_trips(tmp_path: object) -> None:
    from pathlib import Path

    level, x, y = _fit()
    assert (level.frame_shift(x, pd.Series("somebody_elses_file", index=x.index)) == 0).all()
    level.save(Path(str(tmp_path)) / "level")
    again = OrdinaryLevel.load(Path(str(tmp_path)) / "level")
    assert np.array_equal(again.predict_log_views(x), level.predict_log_views(x))
    assert np.array_equal(again.frame_shift(x, y["source"]), level.frame_shift(x, y["source"]))


def test_a_selected_frame_never_seen_takes_the_pooled_selected_shift() -> None:
    """Leave-one-source-out: a held-out search source is a list of hits like the trending lists the level saw."""
    level, x, y = _fit()
    seen = level.frame_shift(x, y["source"])
    trending = (y["source"] == "fedelux3_trending").to_numpy()
    unseen = level.frame_shift(x, pd.Series("jp_keyword_search_2025", index=x.index))
    assert np.median(unseen[trending]) > TRENDING_UPLIFT - 1.0  # the pooled shift: only trending was seen
    assert np.allclose(unseen[trending], seen[trending], atol=0.05)
    assert (level.frame_shift(x, pd.Series("mftn_tech", index=x.index)) == 0).all()  # ordinary uploads: none


def _transfer_case(shared: bool) -> float:
    from miles.model.gbdt import FitData, GBDTConfig
    from miles.model.train import transfer_weight

    rng = np.random.default_rng(5)
    frames, sources = [], []
    for k, name in enumerate(("a_trending", "b_search", "c_ordinary")):
        n = 900
        signal = rng.normal(0, 1, n)
        sign = 1.0 if shared or k == 0 else -1.0  # the feature's effect holds in every source, or flips
        level = rng.normal(0, 1, n)  # what the offset (the level) explains
        frames.append(pd.DataFrame({"signal": signal, "level": level,
                                    "y": level + sign * signal + rng.normal(0, 0.3, n)}))  # fmt: skip
        sources.append(np.full(n, name))
    frame, src = pd.concat(frames, ignore_index=True), np.concatenate(sources)
    val = rng.random(len(frame)) < 0.3

    def part(rows: np.ndarray) -> FitData:
        sub = frame.loc[rows].reset_index(drop=True)
        y = sub["y"].to_numpy()
        return FitData(sub[["signal"]], y, np.zeros(len(y)), None, sub["level"].to_numpy())

    cfg = GBDTConfig(max_rounds=60, num_threads=1)
    weight, table = transfer_weight(part(~val), part(val), (src[~val], src[val]), cfg, ["signal"])
    assert len(table["spearman_by_held_out_source"]) == 3
    return weight


def test_the_trees_count_only_as_far_as_their_effect_carries_to_an_unseen_source() -> None:
    assert _transfer_case(shared=True) == 1.0
    assert _transfer_case(shared=False) == 0.0


def test_younger_than_its_data_the_level_follows_the_videos_own_growth() -> None:
    """Ordinary uploads are read young too rarely for an age cell (under MIN_CELL a bucket): below its first cell the
    level extrapolated its first segment, which rose slowly (views past a day grow little), while the same videos
    grew fast before a day - a draft's 6-hour forecast sat far below what a video on its 30-day track has by then."""
    rng = np.random.default_rng(5)
    young = np.r_[[2.0] * 15, [4.5] * 15, [9.0] * 15]  # a few readings in each bucket under 12 h
    first = np.r_[young, np.exp(rng.uniform(np.log(25), np.log(40), 1500))]
    n = len(first)
    second = np.exp(rng.uniform(np.log(50), np.log(700), n))
    subs, own = np.exp(rng.uniform(np.log(100), np.log(1e6), n)), rng.normal(0, 0.5, n)

    def views(age: np.ndarray) -> np.ndarray:  # x1.0 per log1p(age) up to a day, x0.3 after it
        la, day = np.log1p(age), np.log1p(24.0)
        return 2.0 + np.minimum(la, day) + 0.3 * np.maximum(la - day, 0) + SLOPE * np.log1p(subs) + own

    ids = np.r_[np.arange(n), np.arange(n)]
    x = pd.DataFrame({"age_h": np.r_[first, second], "log_subscribers": np.log1p(np.r_[subs, subs]),
                      "category_id": pd.Categorical(["28"] * (2 * n))})  # fmt: skip
    y = pd.DataFrame({"log_views": np.r_[views(first), views(second)], "source": "mftn_tech", "video_id": ids,
                      "group_id": ids % 50})  # fmt: skip
    labeler = ViralLabeler.fit(x, y["log_views"])
    paired = OrdinaryLevel().fit(x, y, labeler=labeler)
    unpaired = OrdinaryLevel().fit(x, y.drop(columns=["video_id", "group_id"]), labeler=labeler)
    assert paired.state["young_rises"] and not unpaired.state["young_rises"]
    assert min(paired.state["knots_log_age"]) > np.log1p(24.0)  # no cell under a day
    grid = pd.DataFrame({"age_h": [1.0, 3.0, 6.0, 12.0, 24.0], "log_subscribers": np.log1p(1e4)})
    level = paired.predict_log_views(grid)
    assert (np.diff(level) > 0).all()
    to_a_day = np.log1p(24.0) - np.log1p(grid["age_h"].to_numpy())
    assert np.allclose(level[-1] - level, to_a_day, atol=0.15)  # the videos' own growth, x1.0 per log1p(age)
    before = unpaired.predict_log_views(grid)  # extrapolated: the slow growth past a day
    assert (before[-1] - before)[2] < 0.5 * to_a_day[2]
