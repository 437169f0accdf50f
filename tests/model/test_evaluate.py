"""`miles baseline fit` and `miles evaluate` end to end, as a user runs them (file and database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.config import Settings
from miles.errors import ModelNotReady
from miles.features.schema import FEATURE_VERSION
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
    assert manifest["module"] == "miles.model.baselines" and manifest["feature_version"] == FEATURE_VERSION
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
    written = sqlite_settings.data_dir / "evaluations" / "early-art"  # never into the model's own directory
    assert (written / "reliability-early-file.png").stat().st_size > 1000  # "…-file-file.png" named the file twice
    assert sorted(p.name for p in written.iterdir()) == ["metrics-early-file.json", "reliability-early-file.png"]
    assert (written / "metrics-early-file.json").is_file()
    assert not list(art.glob("metrics-*")) and not list(art.glob("reliability-*"))
    table = miles(sqlite_settings, "evaluate", "--model", str(art), "--data", str(other), "--bootstrap", "5")
    assert table.returncode == 0 and "Spearman" in table.stdout and "mRSE" in table.stdout
    assert "reliability-early-file.png" in table.stdout.replace("\n", "")  # the path it says it wrote


def test_fit_and_evaluate_from_the_database(db_settings: Settings, snapshot_file: Path, tmp_path: Path) -> None:
    assert miles(db_settings, "import", str(snapshot_file)).returncode == 0
    art = tmp_path / "pre"
    fit = miles(db_settings, "baseline", "fit", "--task", "prepublish", "--db", "--out", str(art))
    assert fit.returncode == 0, fit.stderr
    out = miles(db_settings, "evaluate", "--model", str(art), "--db", "--json", "--bootstrap", "20")
    assert out.returncode == 0, out.stderr
    reports = {r["fold"]: r for r in json.loads(out.stdout)["reports"]}
    assert set(reports) == {"test", "warm_test"}
    assert reports["test"]["rows"] > 0 and 0 < reports["test"]["viral_rate"] < 1
    assert set(reports["test"]["metrics"]) == {"model (channel_size_age)", "age", "category"}
    written = db_settings.data_dir / "evaluations" / "prepublish-pre"
    assert sorted(p.name for p in written.iterdir()) == [
        "metrics-prepublish-db.json", "reliability-prepublish-db-test.png", "reliability-prepublish-db-warm_test.png"
    ]  # fmt: skip
    chosen = tmp_path / "chosen"
    again = miles(db_settings, "evaluate", "--model", str(art), "--db", "--bootstrap", "5", "--out", str(chosen))
    assert again.returncode == 0, again.stderr
    assert (chosen / "metrics-prepublish-db.json").is_file() and str(chosen) in again.stdout.replace("\n", "")


def test_evaluating_the_packaged_model_writes_under_the_data_dir(sqlite_settings: Settings) -> None:
    """The packaged default model lives in the installed package: its evaluation goes to MILES_DATA_DIR."""
    from miles.cli.evaluate import evaluation_dir
    from miles.model.artifact import read_manifest
    from miles.model.predict import packaged_default_dir

    model = packaged_default_dir() / "prepublish"
    target = evaluation_dir(sqlite_settings.data_dir, read_manifest(model), model)
    assert target.is_relative_to(sqlite_settings.data_dir / "evaluations")
    assert not target.is_relative_to(packaged_default_dir())
    assert target.name.startswith("prepublish-bundle-")


def test_clear_errors(sqlite_settings: Settings, snapshot_file: Path, tmp_path: Path) -> None:
    missing = miles(sqlite_settings, "evaluate", "--model", str(tmp_path), "--data", str(snapshot_file))
    assert missing.returncode == 1 and "not a model artifact" in missing.stderr
    unknown = miles(sqlite_settings, "evaluate", "--model", "bundle-19990101-000000", "--data", str(snapshot_file))
    assert unknown.returncode == 1 and "neither a model directory nor a version" in unknown.stderr
    # named as `miles model compare` names them: 'default' is the packaged bundle (it was "not a model artifact")
    named = miles(sqlite_settings, "evaluate", "--model", "default", "--task", "early", "--data", str(snapshot_file))
    assert "not a model artifact" not in named.stderr and "neither a model" not in named.stderr
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


class _HashTitles:
    """A small deterministic text embedder (character-trigram hashing), standing in for MiniLM in this test."""

    encoder_id = "hash-trigrams-32"

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for j in range(max(len(text) - 2, 1)):
                out[i, zlib.crc32(text[j : j + 3].encode()) % 32] += 1.0
        return out


def test_a_lightgbm_artifact_with_title_embeddings_evaluates(snapshot_file: Path, tmp_path: Path) -> None:
    """``evaluate`` runs the model's own frame preparation (title components), so any model kind scores."""
    from miles.model.artifact import load_artifact
    from miles.model.evaluate import dataset_for, evaluate_artifact
    from miles.model.train import TrainConfig, train

    frame = pd.read_csv(snapshot_file)
    cfg = TrainConfig(task="early", thumbnail=False, n_boot=5, max_train_rows=5000)
    train(frame, cfg, tmp_path / "gbdt", encoder=_HashTitles())
    artifact = load_artifact(tmp_path / "gbdt")
    assert "title_pc_0" in artifact.features and artifact.model.offset_model is not None
    artifact.model.text_encoder = _HashTitles()
    data = dataset_for(artifact, frame, test_file=True)
    assert data.X["title_pc_0"].notna().all()
    report = evaluate_artifact(artifact, data, fold="file", n_boot=5)
    assert {"model (lightgbm)", "szabo_huberman", "pinto"} <= set(report.metrics)
    assert np.isfinite(report.metrics["model (lightgbm)"]["mae_log10"].value)
    artifact.model.text_encoder = type("Other", (_HashTitles,), {"encoder_id": "other"})()
    with pytest.raises(ModelNotReady, match="hash-trigrams-32"):
        dataset_for(artifact, frame, test_file=True)


def test_history_db_gives_a_files_videos_their_stored_channel_history(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--history db: a file of one new upload per channel is scored with the channels' stored earlier uploads."""
    from miles.cli.evaluate import _with_store_history
    from miles.jobs.ingest import import_paths
    from miles.model.artifact import load_artifact
    from miles.model.evaluate import dataset_for
    from miles.model.predict import packaged_default_dir

    snaps = synthetic_snapshots(n_channels=20, videos_per_channel=6, seed=4, source="mine")
    latest = snaps.sort_values("published_at").groupby("channel_id").tail(1)
    history, new = (
        snaps.loc[~snaps["video_id"].isin(latest["video_id"])],
        snaps.loc[snaps["video_id"].isin(latest["video_id"])],
    )
    path = sqlite_settings.data_dir / "history.csv"
    history.to_csv(path, index=False)
    import_paths([path], settings=sqlite_settings)
    monkeypatch.setattr("miles.cli.state.get_settings", lambda: sqlite_settings)
    artifact = load_artifact(packaged_default_dir() / "prepublish")
    data = _with_store_history(artifact, new)
    assert set(data.meta["video_id"]) == set(new["video_id"])
    assert (data.X["channel_baseline_count"] > 0).all() and data.X["channel_baseline_log_views"].notna().all()
    alone = dataset_for(artifact, new, test_file=True)  # the file on its own: no earlier uploads
    assert (alone.X["channel_baseline_count"] == 0).all()


def test_the_packaged_default_bundle_is_evaluated_by_task(sqlite_settings: Settings, tmp_path: Path) -> None:
    """`miles evaluate --model <the default model's directory>` (a bundle: one artifact per task) evaluates the task
    asked for; it said "not a model artifact (no manifest.json)"."""
    from miles.model.predict import packaged_default_dir

    other = tmp_path / "other.csv"
    synthetic_snapshots(n_channels=15, videos_per_channel=5, seed=9, source="new").to_csv(other, index=False)
    out = miles(sqlite_settings, "evaluate", "--model", str(packaged_default_dir()), "--task", "early", "--data",
                str(other), "--json", "--bootstrap", "5")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["reports"][0]["task"] == "early"
