"""The learning loop end to end on a real database: a store of ordinary uploads (a sample of the development set) plus
Miles' own scored and graded videos; `retrain` trains a small challenger on the store, compares it with the champion
(the served default model, never retrained here) on the same rows and promotes or keeps it with its reason;
`miles model compare` shows two models side by side with the same harness."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from tests.jobs.test_grade import ages
from tests.jobs.test_quality import plant
from typer.testing import CliRunner

from miles.config import Settings, get_settings
from miles.domain import utcnow
from miles.jobs.retrain import RetrainOptions, decide, retrain
from miles.store.db import session_scope
from miles.store.tables import ModelVersion

MFTN = "mftn_tech_channels_2026/recent_uploads_snapshots.parquet"
SMALL = RetrainOptions(text_embedding=False, n_boot=20, leave_one_source_out=False, max_train_rows=20_000)


@pytest.fixture(scope="module")
def sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every snapshot of 100 channels of the ordinary-uploads set (about 2,400 videos)."""
    frame = pd.read_parquet(shared_data / MFTN)
    channels = sorted(frame["channel_id"].dropna().unique())[:100]
    path = tmp_path_factory.mktemp("retrain") / "sample.parquet"
    frame.loc[frame["channel_id"].isin(channels)].to_parquet(path)
    return path


@pytest.fixture
def cli_env(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MILES_DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("MILES_CACHE_DIR", str(sqlite_settings.cache_dir))
    monkeypatch.setenv("MILES_NICHES", "[]")
    monkeypatch.delenv("MILES_DATABASE_URL", raising=False)
    monkeypatch.delenv("MILES_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    yield sqlite_settings.model_copy(update={"niches": []})
    get_settings.cache_clear()


def test_compare_a_model_with_itself_on_a_file(cli_env: Settings, sample: Path) -> None:
    from miles.cli.main import app

    out = CliRunner().invoke(app, ["model", "compare", "default", "default", "--data", str(sample), "--bootstrap",
                                   "10", "--json"], catch_exceptions=False)  # fmt: skip
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["rows"] == "file" and result["report"]["rows"] > 1000
    assert all(v["value"] == 0 for v in result["difference"].values() if v["value"] is not None)
    assert result["worse"] == [] and result["better"] == []
    text = CliRunner().invoke(app, ["model", "compare", "default", "default", "--data", str(sample), "--bootstrap",
                                    "0"], catch_exceptions=False)  # fmt: skip
    assert text.exit_code == 0 and "B - A" in text.output and "no clear difference" in text.output


def test_too_little_data_skips_with_its_reason(cli_env: Settings) -> None:
    published = utcnow() - timedelta(hours=30)
    plant(cli_env, ages("lonely", published, [(1, 5), (6, 50)]))
    result = retrain(cli_env, options=SMALL)
    assert result == {"job": "retrain", "status": "skipped", "reason": "1 clean stored videos; need 200"}
    with session_scope(cli_env) as s:
        assert s.scalar(select(ModelVersion.version).limit(1)) is None


def test_decide_keeps_the_champion_when_worse_anywhere() -> None:
    same = {"worse": [], "better": [], "report": {"rows": 500}}
    assert decide({"prepublish": same, "early": same}) == (
        True,
        "promoted: not worse on any headline metric (no clear difference on any headline metric; same rows: "
        "prepublish 500 rows, early 500 rows)",
    )
    worse = {**same, "worse": ["mae_log10"]}
    keep, reason = decide({"prepublish": same, "early": worse})
    assert not keep and reason.endswith("worse beyond the interval on early mae_log10")
