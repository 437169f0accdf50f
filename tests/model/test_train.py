"""`miles train` on a small real sample: artifact layout, metrics beside baselines, registry, promote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import make_settings

from miles.config import Settings
from miles.store import migrate

MFTN = "mftn_tech_channels_2026/recent_uploads_snapshots.parquet"


@pytest.fixture(scope="module")
def sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every snapshot of 80 channels of the ordinary-uploads set, as an interchange-format file."""
    frame = pd.read_parquet(shared_data / MFTN)
    channels = sorted(frame["channel_id"].dropna().unique())[:80]
    path = tmp_path_factory.mktemp("train") / "sample.parquet"
    frame.loc[frame["channel_id"].isin(channels)].to_parquet(path)
    return path


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MILES_DATA_DIR": str(settings.data_dir), "MILES_CACHE_DIR": str(settings.cache_dir),
           "HF_HUB_OFFLINE": "1", "COLUMNS": "250"}  # fmt: skip
    env.pop("MILES_DATABASE_URL", None)
    env.pop("MILES_MODEL_DIR", None)
    return subprocess.run([sys.executable, "-m", "miles.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)  # fmt: skip


def test_train_cli_small_sample(sample: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    migrate.upgrade(settings)
    out = tmp_path / "artifact"
    done = _run(settings, "train", "--task", "prepublish", "--data", str(sample), "--out", str(out),
                "--no-text-embedding")  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "lightgbm" and manifest["task"] == "prepublish"
    assert manifest["training"]["fingerprint"] and manifest["extra"]["packages"]["lightgbm"]
    assert "selection" not in manifest["features"] and "log_subscribers" in manifest["features"]
    metrics = json.loads((out / "metrics.json").read_text())
    names = set(metrics["headline"]["metrics"])
    assert {"model (lightgbm)", "age", "channel_size_age", "category"} <= names
    assert "| 1,000 | 1 h |" in (out / "MODEL_CARD.md").read_text()
    version = manifest["extra"]["version"]
    listed = _run(settings, "model", "list")
    assert version in listed.stdout
    assert _run(settings, "model", "promote", version).returncode == 0
    shown = json.loads(_run(settings, "model", "show", version).stdout)
    assert shown["promoted"] is True
    pred = _run(settings, "predict", "--title", "test", "--json")
    assert pred.returncode == 0, pred.stderr
    assert json.loads(pred.stdout)["model_version"] == version  # the promoted model serves


def test_train_cli_rejects_bad_task(tmp_path: Path) -> None:
    done = _run(make_settings(tmp_path), "train", "--task", "later")
    assert done.returncode == 1 and "--task must be one of" in done.stderr


def test_promote_unknown_version(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    migrate.upgrade(settings)
    done = _run(settings, "model", "promote", "nope")
    assert done.returncode == 1 and "no model version" in done.stderr
