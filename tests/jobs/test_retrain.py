"""The learning loop end to end on a real database: a store of ordinary uploads (a sample of the development set) plus
Miles' own scored and graded videos; `retrain` trains a small challenger on the store, compares it with the champion
(the served default model, never retrained here) on the same rows and promotes or keeps it with its reason;
`miles model compare` shows two models side by side with the same harness."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update
from tests.jobs.test_grade import ages
from tests.jobs.test_quality import plant
from typer.testing import CliRunner

from miles.config import Settings, get_settings
from miles.domain import utcnow
from miles.jobs.ingest import import_paths
from miles.jobs.retrain import RetrainOptions, decide, retrain
from miles.jobs.score import score_new_videos
from miles.jobs.worker import run_once
from miles.model.predict import packaged_default_dir
from miles.recommend.scoring import served_model_dir
from miles.store.db import session_scope
from miles.store.repos.models import promoted_model
from miles.store.tables import ModelVersion, PredictionGrade, PredictionRecord, Video

MFTN = "mftn_tech_channels_2026/recent_uploads_snapshots.parquet"
SMALL = RetrainOptions(text_embedding=False, n_boot=20, leave_one_source_out=False, max_train_rows=20_000)


@pytest.fixture(scope="module")
def sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every snapshot of 40 channels of the ordinary-uploads set (about 950 videos)."""
    frame = pd.read_parquet(shared_data / MFTN)
    channels = sorted(frame["channel_id"].dropna().unique())[:40]
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


def test_the_learning_loop_end_to_end(cli_env: Settings, sample: Path) -> None:
    settings = cli_env
    import_paths([sample], settings=settings)
    with session_scope(settings) as s:  # imported days ago: the scorer looks at videos stored in the last 48 h
        s.execute(update(Video).values(created_at=utcnow() - timedelta(days=5)))
    published = utcnow() - timedelta(hours=30)
    plant(settings, ages("own1", published, [(0.5, 40)], channel_subscribers=5000))
    assert score_new_videos(settings=settings)["scored"] == 1  # a prediction stored by the worker's scorer
    with session_scope(settings) as s:
        s.execute(update(PredictionRecord).values(created_at=published + timedelta(minutes=40)))
    plant(settings, ages("own1", published, [(6.2, 300), (24.5, 800)], channel_subscribers=5000))
    assert run_once(settings, names=["grade"])["grade"]["graded"] == 2  # views arrived: graded at 6 h and 24 h

    result = retrain(settings, options=SMALL)
    assert result["status"] == "ok", result
    assert result["champion"] == json.loads((packaged_default_dir() / "bundle.json").read_text())["version"]
    with session_scope(settings) as s:
        row = s.get(ModelVersion, result["version"])
        assert row is not None
        record = row.metrics["retrain"]
        promoted = promoted_model(session=s)
        assert s.scalar(select(PredictionGrade.id).limit(1)) is not None
    assert record["reason"] == result["reason"] and record["promoted"] == result["promoted"]
    for task in ("prepublish", "early"):
        c = record["comparison"][task]
        a, b = c["names"]
        assert c["rows"] > 100 and {a, b} <= set(c["metrics"])  # both reports, on the same rows
        diff = c["metrics"][b]["spearman"]["value"] - c["metrics"][a]["spearman"]["value"]
        assert math.isclose(c["difference"]["spearman"]["value"], diff, abs_tol=1e-5)
    worse = [m for task in ("prepublish", "early") for m in record["comparison"][task]["worse"]]
    assert result["promoted"] == (not worse)  # promoted exactly when not worse beyond the interval anywhere
    if result["promoted"]:
        assert promoted is not None and promoted.version == result["version"] and "promoted:" in result["reason"]
        with session_scope(settings) as s:
            assert served_model_dir(settings, s) == Path(row.path)
    else:
        assert promoted is None and all(m.split()[-1] in result["reason"] for m in worse)

    challenger = Path(row.path)
    out = CliRunner().invoke(
        __import__("miles.cli.main", fromlist=["app"]).app,
        ["model", "compare", "default", str(challenger), "--db", "--bootstrap", "20", "--json"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    compared = json.loads(out.output)
    assert compared["report"]["rows"] == record["comparison"]["prepublish"]["rows"]  # the same rows as the retrain
    assert compared["worse"] == record["comparison"]["prepublish"]["worse"]


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
    assert text.exit_code == 0 and "B - A" in text.output and "no clear change" in text.output


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
