"""Predictor: the shipped default model, save -> load identity, feature-version refusal, bad thumbnails, CLI."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.conftest import make_settings

from miles.config import Settings
from miles.errors import InvalidInput, ModelNotReady
from miles.model.predict import HORIZONS_H, LoadedModel, Predictor, packaged_default_dir

DRAFT = {"title": "I fixed my slow laptop in 5 minutes", "duration_s": 45, "category_id": 28,
         "channel_subscribers": 10_000}  # fmt: skip


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("predict"))


@pytest.fixture(scope="module")
def predictor(settings: Settings) -> Predictor:
    if not (packaged_default_dir() / "bundle.json").is_file():
        pytest.fail(f"the packaged default model is missing at {packaged_default_dir()}")
    return Predictor.load(packaged_default_dir(), settings=settings)


def _png(size: tuple[int, int] = (48, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def test_default_model_predicts_every_horizon(predictor: Predictor) -> None:
    (pred,) = predictor.predict([DRAFT])
    assert pred.mode == "prepublish" and pred.model_version == predictor.version
    assert [h.horizon_h for h in pred.horizons] == list(HORIZONS_H)
    p50 = [h.p50 for h in pred.horizons]
    assert all(h.p10 <= h.p50 <= h.p90 for h in pred.horizons)
    assert p50 == sorted(p50)  # monotone in age
    assert 0.0 <= pred.viral_probability <= 1.0
    assert "thumbnail" in pred.inputs_missing and "title" in pred.inputs_used
    assert all(isinstance(v, float) for _, v in pred.contributions)
    (known,) = predictor.predict([{**DRAFT, "channel_subscribers": 1_000_000}])
    # the channel's size is a reason (the level's part), whatever weight cross-source validation gave the trees
    assert any(name == "log_subscribers" and value > 0 for name, value in known.contributions), known.contributions


def test_small_channel_numbers_are_sane(predictor: Predictor) -> None:
    (pred,) = predictor.predict([{**DRAFT, "channel_subscribers": 1_000}], horizons=(1.0, 24.0, 168.0))
    # ordinary uploads of 44k-subscriber channels have a median of 43 views at <= 1 h (DATA.md §3); a channel of
    # 1,000 gets a few: more than one view in the first hour, far from a trending video's numbers
    assert 1 < pred.horizons[0].p50 < 500
    assert pred.horizons[0].p50 < pred.horizons[1].p50 < pred.horizons[2].p50 < 50_000


def test_early_views_use_the_early_model(predictor: Predictor) -> None:
    (pred,) = predictor.predict([{**DRAFT, "early_views": [(1, 300), (3, 900)]}])
    assert pred.mode == "early"
    assert all(h.horizon_h >= 4 for h in pred.horizons)
    assert all(h.p10 >= 900 for h in pred.horizons)  # never below what was already seen


def test_thumbnail_is_reported_honestly(predictor: Predictor) -> None:
    """The default model leaves thumbnail statistics out (only one source has them; see its card): a thumbnail is
    then accepted and checked but not listed as used, and it changes nothing."""
    with_thumb, without = predictor.predict([{**DRAFT, "thumbnail": _png()}, DRAFT])
    uses = any(f.startswith("thumb") for f in predictor.prepublish.model.features)
    assert ("thumbnail" in with_thumb.inputs_used) == uses and "thumbnail" in without.inputs_missing
    if not uses:
        assert [h.p50 for h in with_thumb.horizons] == [h.p50 for h in without.horizons]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"not an image at all", "not a readable image"),
        (_png()[:60], "truncated"),
        (_png((6000, 5000)), "pixels"),
    ],
    ids=["not-an-image", "truncated", "too-many-pixels"],
)
def test_bad_thumbnails_are_clear_errors(predictor: Predictor, blob: bytes, message: str) -> None:
    settings = predictor.settings.model_copy(update={"max_image_pixels": 10_000_000})
    strict = Predictor(predictor.prepublish, predictor.early, version="t", directory=Path("."), settings=settings)
    with pytest.raises(InvalidInput, match=message):
        strict.predict([{**DRAFT, "thumbnail": blob}])


def test_bad_draft_fields(predictor: Predictor) -> None:
    with pytest.raises(InvalidInput, match="title"):
        predictor.predict([{"title": "  "}])
    with pytest.raises(InvalidInput, match="duration_s"):
        predictor.predict([{**DRAFT, "duration_s": "long"}])


def test_copy_loads_with_identical_predictions(predictor: Predictor, settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(packaged_default_dir(), tmp_path / "copy")
    again = Predictor.load(tmp_path / "copy", settings=settings)
    published = datetime.now(UTC) - timedelta(hours=3)  # one time for both calls (a blank one is read as now)
    drafts = [{**DRAFT, "publish_at": published}, {**DRAFT, "title": "another", "early_views": [(2, 50)],
                                                   "publish_at": published}]  # fmt: skip
    for a, b in zip(predictor.predict(drafts), again.predict(drafts), strict=True):
        assert a.as_dict() == b.as_dict()


def test_other_feature_version_is_refused(settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(packaged_default_dir(), tmp_path / "old")
    manifest = tmp_path / "old" / "prepublish" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["feature_version"] = "0-old"
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelNotReady, match="feature version"):
        Predictor.load(tmp_path / "old", settings=settings)


def test_predict_cli_end_to_end(settings: Settings, tmp_path: Path) -> None:
    thumb = tmp_path / "t.png"
    thumb.write_bytes(_png())
    env = {"MILES_DATA_DIR": str(settings.data_dir), "MILES_CACHE_DIR": str(settings.cache_dir),
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}  # fmt: skip
    cmd = [sys.executable, "-m", "miles.cli", "predict", "--title", "My first short", "--duration", "30",
           "--subscribers", "1000", "--thumbnail", str(thumb), "--early-views", "2:150", "--json"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["mode"] == "early" and data["horizons"]
    assert np.isfinite([h["p50"] for h in data["horizons"]]).all()
    bad = subprocess.run([*cmd[:-1], "--early-views", "two:3"], capture_output=True, text=True, env=env,
                         timeout=300, check=False)  # fmt: skip
    assert bad.returncode == 1 and "AGE:VIEWS" in bad.stderr


def test_numpy_scoring_is_active_and_equals_the_reference_path(predictor: Predictor) -> None:
    """The fast path (direct features + numpy boosters) gives what training's feature code and GBDTModel give."""
    from miles.features.draft import reference_features
    from miles.model.predict import _parse, cumulative_in_age

    assert predictor.early is not None
    rows: list[dict[str, Any]] = [
        DRAFT,
        {**DRAFT, "title": "ラーメンの作り方 #shorts", "country": "JP", "thumbnail": _png()},
        {"title": "no metadata at all"},
    ]
    early: list[dict[str, Any]] = [
        {**DRAFT, "early_views": [(1, 300), (3, 900)], "tags": ["a", "b"]},
        {"title": "t", "early_views": [(2, 9)]},
    ]
    cases: list[tuple[LoadedModel | None, list[dict[str, Any]]]] = [
        (predictor.prepublish, rows),
        (predictor.early, early),
    ]
    for loaded, rows_for in cases:
        assert loaded is not None
        inputs = [_parse(r, i) for i, r in enumerate(rows_for)]
        extra = predictor._extra(inputs, loaded.model)
        drafts = [i.draft for i in inputs]
        fast = predictor.predict(rows_for)
        x, meta = reference_features(drafts, task=loaded.task, horizons_h=HORIZONS_H, groups=loaded.groups, extra=extra)
        if loaded is predictor.early:  # serving reads a blank channel size as the typical channel beyond the trees
            blank = predictor.prepublish.model.blank_values["log_subscribers"]
            x = x.assign(log_subscribers=x["log_subscribers"].fillna(blank))
        q = loaded.model.predict_quantiles(x)
        views = np.maximum(np.expm1(q), np.array([d.last_views for d in drafts])[meta["draft"]][:, None])
        views = cumulative_in_age(views, meta["draft"].to_numpy(), meta["horizon_h"].to_numpy(),
                                  loaded.model.same_video_rises)  # fmt: skip
        got = np.array([[h.p10, h.p50, h.p90] for p in fast for h in p.horizons])
        assert np.array_equal(got, views)


def test_cumulative_views_copy_before_a_week_and_grow_after_it() -> None:
    """A dip before 7 days is the earlier horizon's views (a running maximum); past 7 days a horizon gets at least the
    earlier one's views grown along the same videos' curve, at every quantile; without a curve, a copy."""
    from miles.model.growth import rise_to
    from miles.model.predict import cumulative_in_age

    rises = [0.5] * 12
    horizons = np.array([24.0, 168.0, 720.0, 24.0, 168.0, 720.0])
    draft = np.array([0, 0, 0, 1, 1, 1])
    views = np.array([[80, 100, 300], [60, 90, 200], [50, 400, 100],  # dips at 7 d and 30 d
                      [10, 20, 30], [20, 40, 60], [90, 90, 90]], dtype=float)  # fmt: skip
    growth = float(np.exp(np.diff(rise_to(rises, np.array([168.0, 720.0])))[0]))
    got = cumulative_in_age(views, draft, horizons, rises)
    assert got[1].tolist() == [80, 100, 300]  # the week: a copy of the day
    assert np.allclose(got[2], np.maximum([80 * growth, 400, 300 * growth], views[2]))
    assert np.allclose(got[5], np.maximum(views[4] * growth, views[5]))
    assert cumulative_in_age(views, draft, horizons)[2].tolist() == [80, 400, 300]


def test_explain_false_skips_contributions_only(predictor: Predictor) -> None:
    (full,), (lean,) = predictor.predict([DRAFT]), predictor.predict([DRAFT], explain=False)
    assert lean.contributions == [] and full.contributions
    assert lean.horizons == full.horizons and lean.viral_probability == full.viral_probability


def test_contributions_have_plain_labels() -> None:
    from miles.model.predict import feature_label

    assert feature_label("log_subscribers") == "channel size (subscribers)"
    assert feature_label("title_embedding") == "title wording"
    assert feature_label("description_hashtags") == "hashtags in the description (NaN when unknown)"  # registry doc
    assert feature_label("not_a_feature") == "not a feature"
