"""`miles baseline fit` and `miles evaluate` end to end, as a user runs them (file and database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.config import Settings
from miles.model.artifact import Predictions
from miles.model.evaluate import evaluate_predictions

METRICS = {"spearman", "r2", "mae_log10", "auroc", "pr_auc", "precision_at_k", "ece"}


def miles(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MILES_DATA_DIR": str(settings.data_dir), "MILES_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    frames = [synthetic_snapshots(n_channels=40, videos_per_channel=6, seed=s, source=f"s{s}") for s in (1, 2)]
    path = tmp_path / "snapshots.csv"
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def test_fit_then_evaluate_on_a_users_file(sqlite_settings: Settings, snapshot_file: Path, tmp_path: Path) -> None:
    art = tmp_path / "art"
    fit = miles(sqlite_settings, "baseline", "fit", "--task", "early", "--data", str(snapshot_file), "--out", str(art))
    assert fit.returncode == 0, fit.stderr
    manifest = json.loads((art / "manifest.json").read_text())
    assert manifest["kind"] == "szabo_huberman" and manifest["task"] == "early"
    assert set(manifest["baselines"]) == {"age", "channel_size_age", "category", "pinto"}
    other = tmp_path / "other.csv"
    new = synthetic_snapshots(n_channels=15, videos_per_channel=5, seed=9, source="new")
    new.to_csv(other, index=False)
    span = new.groupby("video_id")["captured_at"].agg(lambda t: (t.max() - t.min()).total_seconds() / 3600)
    out = miles(sqlite_settings, "evaluate", "--model", str(art), "--data", str(other), "--json", "--bootstrap", "30")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["reports"][0]
    assert report["fold"] == "file" and report["rows"] == int((span >= 1).sum())  # first/last pair per video
    assert set(report["metrics"]) == {"model (szabo_huberman)", "age", "channel_size_age", "category", "pinto"}
    for name, values in report["metrics"].items():
        assert set(values) == METRICS, name
        assert values["spearman"]["lo"] <= values["spearman"]["value"] <= values["spearman"]["hi"]
    assert set(report["mrse_by_t_i"]["pinto"]) >= {"all", "t_i < 6h"}
    sh, age = report["metrics"]["model (szabo_huberman)"], report["metrics"]["age"]
    assert sh["mae_log10"]["value"] < age["mae_log10"]["value"]
    assert (art / "reliability-early-file-file.png").stat().st_size > 1000
    table = miles(sqlite_settings, "evaluate", "--model", str(art), "--data", str(other), "--bootstrap", "5")
    assert table.returncode == 0 and "Spearman" in table.stdout and "mRSE" in table.stdout


def test_fit_and_evaluate_from_the_database(sqlite_settings: Settings, snapshot_file: Path, tmp_path: Path) -> None:
    assert miles(sqlite_settings, "import", str(snapshot_file)).returncode == 0
    art = tmp_path / "pre"
    fit = miles(sqlite_settings, "baseline", "fit", "--task", "prepublish", "--db", "--out", str(art))
    assert fit.returncode == 0, fit.stderr
    out = miles(sqlite_settings, "evaluate", "--model", str(art), "--db", "--json", "--bootstrap", "20")
    assert out.returncode == 0, out.stderr
    reports = {r["fold"]: r for r in json.loads(out.stdout)["reports"]}
    assert set(reports) == {"test", "warm_test"}
    assert reports["test"]["rows"] > 0 and 0 < reports["test"]["viral_rate"] < 1
    assert set(reports["test"]["metrics"]) == {"model (channel_size_age)", "age", "category"}
    assert (art / "metrics-prepublish-db.json").is_file()


def test_clear_errors(sqlite_settings: Settings, snapshot_file: Path, tmp_path: Path) -> None:
    missing = miles(sqlite_settings, "evaluate", "--model", str(tmp_path), "--data", str(snapshot_file))
    assert missing.returncode == 1 and "not a model artifact" in missing.stderr
    art = tmp_path / "art"
    fit = miles(sqlite_settings, "baseline", "fit", "--task", "prepublish", "--data", str(snapshot_file),
                "--out", str(art), "--kind", "category")  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    wrong_task = miles(
        sqlite_settings, "evaluate", "--model", str(art), "--task", "early", "--data", str(snapshot_file)
    )
    assert wrong_task.returncode == 1 and "prepublish model" in wrong_task.stderr
    bad_kind = miles(sqlite_settings, "baseline", "fit", "--task", "prepublish", "--kind", "pinto", "--out", "x")
    assert bad_kind.returncode == 1 and "does not apply" in bad_kind.stderr
    manifest = json.loads((art / "manifest.json").read_text())
    (art / "manifest.json").write_text(json.dumps({**manifest, "feature_version": "0"}))
    old = miles(sqlite_settings, "evaluate", "--model", str(art), "--data", str(snapshot_file))
    assert old.returncode == 1 and "feature version" in old.stderr


def test_a_perfect_model_scores_perfectly() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(8, 2, 500)
    viral = (y > np.quantile(y, 0.8)).astype(float)
    meta = pd.DataFrame({"video_id": [f"v{i}" for i in range(500)], "group_id": [f"c{i % 50}" for i in range(500)]})
    meta["t_i_h"] = np.nan
    report = evaluate_predictions(
        task="prepublish",
        fold="test",
        meta=meta,
        log_views=y,
        viral=viral,
        predictions={"oracle": Predictions(y, viral), "noise": Predictions(rng.normal(8, 2, 500), rng.random(500))},
        n_boot=50,
    )
    oracle, noise = report.metrics["oracle"], report.metrics["noise"]
    assert oracle["spearman"].value == pytest.approx(1.0) and oracle["auroc"].value == pytest.approx(1.0)
    assert oracle["mae_log10"].value == 0 and oracle["ece"].value == 0
    assert noise["auroc"].lo < 0.5 < noise["auroc"].hi
    assert json.loads(json.dumps(report.as_dict()))["groups"] == 50
