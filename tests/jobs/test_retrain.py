"""The learning loop end to end on a real database: a store of ordinary uploads (a sample of the development set) plus
Miles' own scored and graded videos; `retrain` trains a small challenger on the store, compares it with the champion
(the served default model, never retrained here) on the same rows and promotes or keeps it with its reason;
`miles model compare` shows two models side by side with the same harness."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.jobs.test_grade import ages
from tests.jobs.test_quality import plant, snap
from typer.testing import CliRunner

from miles.config import Settings, get_settings
from miles.domain import utcnow
from miles.errors import WorkerStopping
from miles.jobs.ingest import import_paths
from miles.jobs.retrain import RetrainOptions, decide, retrain
from miles.jobs.score import score_new_videos
from miles.jobs.worker import run_once
from miles.model.predict import packaged_default_dir
from miles.recommend.scoring import served_model_dir
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.repos.models import promoted_model
from miles.store.tables import ModelVersion, PredictionGrade, PredictionRecord, Thumbnail, Video

MFTN = "mftn_tech_channels_2026/recent_uploads_snapshots.parquet"
JP = "jp_keyword_search_2025/videos_complete_6062.parquet"
SMALL = RetrainOptions(text_embedding=False, n_boot=20, leave_one_source_out=False, max_train_rows=20_000)


@pytest.fixture(scope="module")
def sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every snapshot of 100 channels of the ordinary-uploads set (about 2,400 videos)."""
    frame = pd.read_parquet(shared_data / MFTN)
    channels = sorted(frame["channel_id"].dropna().unique())[:100]
    path = tmp_path_factory.mktemp("retrain") / "sample.parquet"
    frame.loc[frame["channel_id"].isin(channels)].to_parquet(path)
    return path


@pytest.fixture(scope="module")
def jp_sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 videos of the Japanese keyword-search set (a second source for the leave-one-source-out table)."""
    frame = pd.read_parquet(shared_data / JP)
    path = tmp_path_factory.mktemp("retrain-jp") / "jp_sample.parquet"
    frame.sample(n=1500, random_state=0).to_parquet(path)
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


@pytest.fixture
def loop_env(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI (`miles quality`, `miles model compare`) on the same database as the jobs, SQLite or PostgreSQL."""
    monkeypatch.setenv("MILES_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("MILES_CACHE_DIR", str(db_settings.cache_dir))
    monkeypatch.setenv("MILES_NICHES", "[]")
    monkeypatch.delenv("MILES_MODEL_DIR", raising=False)
    if db_settings.database_url:
        monkeypatch.setenv("MILES_DATABASE_URL", db_settings.database_url)
    else:
        monkeypatch.delenv("MILES_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield db_settings.model_copy(update={"niches": []})
    get_settings.cache_clear()


OWN = {"own1": 5_000, "own2": 40_000, "own3": 900, "own4": 250_000}  # Miles' own videos and their channel sizes


def later_snapshots(path: Path, published: datetime) -> Path:
    """The captures that arrived after the scorer ran, as a file for `miles import` (own4 drops to 0, own3 goes
    backwards at 24 h: yt-dlp's breakages)."""
    views = {"own1": (300, 800), "own2": (2_000, 7_000), "own3": (150, 90), "own4": (12_000, 0)}
    rows = [{**snap(v, 0, n, published_at=published, captured_at=published + timedelta(hours=h), channel_id=f"UC{v}",
                    channel_subscribers=OWN[v]), "source": "ytdlp:poll"}
            for v, pair in views.items() for h, n in zip((6.2, 24.5), pair, strict=True)]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_learning_loop_end_to_end(loop_env: Settings, sample: Path, jp_sample: Path, tmp_path: Path) -> None:
    """Predictions stored -> later snapshots imported -> `grade` fills the live section -> `retrain` trains a
    challenger on the store, compares it with the champion on the same rows and promotes or keeps it with its reason;
    `miles quality` flags the planted drop and backwards count, which never grade. (A SIGKILLed worker not blocking
    the next run: tests/jobs/test_kill_worker.py, on both databases.)"""
    from miles.cli.main import app

    settings = loop_env
    imported = import_paths([sample, jp_sample], settings=settings)  # development data in the store: two sources
    assert imported.counts.videos_new > 3500
    with session_scope(settings) as s:  # imported days ago: the scorer looks at videos stored in the last 48 h
        s.execute(update(Video).values(created_at=utcnow() - timedelta(days=5)))
    published = utcnow().replace(microsecond=0) - timedelta(hours=30)
    plant(settings, [snap(v, 0, 40, published_at=published, captured_at=published + timedelta(minutes=30),
                          channel_id=f"UC{v}", channel_subscribers=subs) for v, subs in OWN.items()])  # fmt: skip
    scored = score_new_videos(settings=settings)
    assert scored["scored"] == len(OWN)  # predictions stored by the worker's scorer
    with session_scope(settings) as s:  # as if scored at 40 minutes old
        s.execute(update(PredictionRecord).values(created_at=published + timedelta(minutes=40)))

    imported = import_paths([later_snapshots(tmp_path / "later.csv", published)], settings=settings)
    assert imported.counts.snapshots_added == 2 * len(OWN)  # `miles import`: the views that arrived
    for kind, video in (("dropped_to_zero", "own4"), ("backwards", "own3")):  # `miles quality --kind K --json`
        out = CliRunner().invoke(app, ["quality", "--kind", kind, "--limit", "1000", "--json"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        found = {f["video_id"]: f for f in json.loads(out.output)["flags"]}
        assert found[video]["quarantined"], found

    result = run_once(settings, names=["grade"])["grade"]  # `miles worker --once --job grade`
    assert result["status"] == "ok" and result["graded"] == 2 * len(OWN) - 2, result  # the two flagged never grade
    with session_scope(settings) as s:
        grades = {(g.video_id, g.horizon_h): g.actual_views for g in s.scalars(select(PredictionGrade))}
    assert ("own4", 24.0) not in grades and ("own3", 24.0) not in grades and grades["own2", 24.0] == 7_000
    with TestClient(create_app(settings)) as client:
        live = client.get("/api/v1/model").json()["live"]
    assert live["model_version"] == scored["model_version"] and (live["videos"], live["grades"]) == (4, 6)

    def stop() -> None:  # SIGTERM: the worker's heartbeat raises at the next step, here right after training
        raise WorkerStopping("the worker is stopping")

    models = settings.data_dir / "models"
    with pytest.raises(WorkerStopping):
        retrain(settings, options=SMALL, heartbeat=stop)
    assert not list(models.glob("challenger-*")), list(models.iterdir())  # it left its unregistered challenger
    with session_scope(settings) as s:
        assert s.scalar(select(ModelVersion.version).limit(1)) is None

    result = retrain(settings, options=replace(SMALL, leave_one_source_out=True))
    assert result["status"] == "ok", result
    assert result["champion"] == json.loads((packaged_default_dir() / "bundle.json").read_text())["version"]
    with session_scope(settings) as s:
        row = s.get(ModelVersion, result["version"])
        assert row is not None
        record, path = row.metrics["retrain"], Path(row.path)
        promoted = promoted_model(session=s)
        promoted_version = promoted.version if promoted else None
    assert record["reason"] == result["reason"] and record["promoted"] == result["promoted"]
    worse = []
    for task in ("prepublish", "early"):
        c = record["comparison"][task]
        a, b = c["names"]
        assert a == f"A: {result['champion']}" and b == f"B: {result['version']}"
        assert c["rows"] > 100 and {a, b} <= set(c["metrics"])  # both reports, on the same rows
        for metric in ("spearman", "mae_log10"):
            diff = c["metrics"][b][metric]["value"] - c["metrics"][a][metric]["value"]
            assert math.isclose(c["difference"][metric]["value"], diff, abs_tol=1e-5)
        worse += [f"{task} {m}" for m in c["worse"]]
        rows_clause = f"{task} {c['rows']:,} rows"  # a promotion names the rows both models were judged on
        assert rows_clause in result["reason"] or not result["promoted"]
    assert record["thumbnail_ablation"]["status"] == (  # no stored thumbnails here: see the next test
        "not tried: 0 stored videos have a thumbnail and views and 0 a thumbnail embedding; the retrain tries the "
        "image statistics from 500 and the image embedding from 500"
    )
    assert "## Thumbnail features (retrain ablation)" in (path / "MODEL_CARD.md").read_text(encoding="utf-8")
    loso = record["leave_one_source_out"]  # both tables side by side, source by source
    jp = "jp_keyword_search_2025"
    assert loso["prepublish"]["status"] == "compared" and loso["prepublish"]["sources"] == [jp]
    assert set(loso["prepublish"]["table"][jp]["spearman"]) == {"champion", "challenger"}
    assert "mftn_fr_tech_channels_2026" in loso["prepublish"]["challenger_skipped"]  # too few rows without it
    assert loso["early"]["status"].startswith("not compared (no source in both tables")  # jp: one capture per video
    for task in ("prepublish", "early"):
        worse += [f"{task} {w} (leave-one-source-out)" for w in loso[task]["worse"]]
    if result["promoted"]:
        assert f"leave-one-source-out: prepublish not worse on {jp}; early not compared" in result["reason"]
    assert result["promoted"] == (not worse)  # promoted exactly when not worse beyond the interval anywhere
    if result["promoted"]:
        assert promoted_version == result["version"] and result["reason"].startswith("promoted:")
        with session_scope(settings) as s:
            assert served_model_dir(settings, s) == path
    else:
        assert promoted_version is None and result["reason"].startswith("kept the champion:")
        assert all(w in result["reason"] for w in worse)

    out = CliRunner().invoke(app, ["model", "compare", "default", str(path), "--db", "--bootstrap", "20", "--json"],
                             catch_exceptions=False)  # fmt: skip
    assert out.exit_code == 0, out.output
    compared = json.loads(out.output)
    assert compared["report"]["rows"] == record["comparison"]["prepublish"]["rows"]  # the same rows as the retrain
    assert compared["worse"] == record["comparison"]["prepublish"]["worse"]


def test_thumbnail_features_are_tried_and_kept_only_if_they_win(
    cli_env: Settings, sample: Path, jp_sample: Path, shared_data: Path
) -> None:
    """Stored videos with a thumbnail Miles fetched reach the thresholds: the jp sample's real image statistics (stored
    as the collector stores them, without the images, which were never published) and 60 ordinary uploads with a real
    image (crops of photographs shipped in installed packages, tests/model/test_thumbnail_embedding.py; half embedded
    by the collector's own step, half left for the retrain to embed from the stored bytes). The retrain trains the
    challenger without thumbnail features, with the image statistics, and with the statistics plus the image
    embedding's PCA; keeps a set only if it wins on the same rows; says so in the record and the card; `miles model
    compare --db` then sees the rows as the retrain did."""
    from tests.model.test_thumbnail_embedding import real_thumbnails

    from miles.cli.main import app
    from miles.jobs.collect import CollectCounts, embed_thumbnails
    from miles.model.encoders import ImageEncoder
    from miles.model.images import decode_image, image_stats
    from miles.store.repos.embeddings import get_embeddings

    settings = cli_env
    import_paths([sample, jp_sample], settings=settings)
    stats = pd.read_parquet(shared_data / JP).drop_duplicates("video_id").set_index("video_id")
    blobs = real_thumbnails(60)
    with session_scope(settings) as s:
        ids = list(s.scalars(select(Video.id).where(Video.id.in_(pd.read_parquet(jp_sample)["video_id"].tolist()))))
        for vid in ids:
            row = stats.loc[vid]
            s.add(
                Thumbnail(
                    content_hash=f"sha-{vid}",
                    url=str(row["thumbnail_link"]),
                    width=480,
                    height=360,
                    stats={"brightness": float(row["brightness"]), "colorfulness": float(row["colorfulness"])},
                )
            )
            s.execute(update(Video).where(Video.id == vid).values(thumbnail_hash=f"sha-{vid}"))  # fmt: skip
        ordinary = sorted(s.scalars(select(Video.id).where(Video.id.not_in(ids))))[::13][:60]
        hashes = []
        for vid, blob in zip(ordinary, blobs, strict=True):  # as jobs.collect.fetch_thumbnails stores them
            digest = hashlib.sha256(blob).hexdigest()
            img = decode_image(blob, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
            s.add(Thumbnail(content_hash=digest, url=f"https://i.ytimg.com/vi/{vid}/hqdefault.jpg", width=img.width,
                            height=img.height, stats={**image_stats(img), "format": "JPEG", "bytes": len(blob)},
                            image=blob))  # fmt: skip
            s.execute(update(Video).where(Video.id == vid).values(thumbnail_hash=digest))
            hashes.append(digest)
    embed_thumbnails(blobs[:30], settings=settings, counts=CollectCounts())  # the collector's embedding step
    options = replace(SMALL, thumbnail_min_videos=1000, thumbnail_embedding_min_videos=50)
    result = retrain(settings, options=options)
    assert result["status"] == "ok", result
    with session_scope(settings) as s:
        row = s.get(ModelVersion, result["version"])
        assert row is not None
        ablation, path = row.metrics["retrain"]["thumbnail_ablation"], Path(row.path)
        embedded = get_embeddings(session=s, encoder_id=ImageEncoder.encoder_id, hashes=hashes)
    assert len(embedded) == 60  # the retrain embedded the 30 the collector had not, from the stored bytes
    assert ablation["videos_with_thumbnails"] == len(ids) + 60 >= 1000 and ablation["videos_with_embeddings"] == 60
    assert result["thumbnails"] == ablation["status"]
    assert set(ablation["candidates"]) == {"image statistics", "image statistics and embedding"}
    for name, c in ablation["candidates"].items():
        assert c["against"] == "without"
        worse = [f"{t} {m}" for t, cmp in c["comparison"].items() for m in cmp["worse"]]
        better = [f"{t} {m}" for t, cmp in c["comparison"].items() for m in cmp["better"]]
        assert c["wins"] == (bool(better) and not worse), (name, c["status"])
        for task in ("prepublish", "early"):
            cmp = c["comparison"][task]
            assert cmp["rows"] > 100 and set(cmp["names"]) <= set(cmp["metrics"])  # both challengers, same rows
    wins = {n for n, c in ablation["candidates"].items() if c["wins"]}
    assert ablation["kept"] == bool(wins)
    if len(wins) == 2:
        expected = "image statistics and embedding" if ablation["head_to_head"]["wins"] else "image statistics"
    else:
        expected = next(iter(wins), None)
    assert ablation["kept_features"] == expected
    assert ablation["status"].startswith(f"kept the {expected} (" if expected else "dropped (")
    for task in ("prepublish", "early"):
        features = json.loads((path / task / "manifest.json").read_text(encoding="utf-8"))["features"]
        assert any(f.startswith("thumb_") for f in features) == ablation["kept"]  # the served one is the winner
        assert any(f.startswith("thumb_pc_") for f in features) == (expected == "image statistics and embedding")
        assert (path / task / "model" / "thumbnail_pca.npz").is_file() == (expected == "image statistics and embedding")
    card = (path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Thumbnail features (retrain ablation)" in card and "with a thumbnail embedding: 60" in card
    assert "without (A) vs image statistics (B)" in card and "without (A) vs image statistics and embedding (B)" in card
    assert [p.name for p in (settings.data_dir / "models").iterdir()] == [path.name]  # the losers are removed

    out = CliRunner().invoke(app, ["model", "compare", "default", str(path), "--db", "--bootstrap", "20", "--json"],
                             catch_exceptions=False)  # fmt: skip
    assert out.exit_code == 0, out.output
    compared = json.loads(out.output)
    recorded = row.metrics["retrain"]["comparison"]["prepublish"]
    assert compared["report"]["rows"] == recorded["rows"] and compared["worse"] == recorded["worse"]
    assert compared["difference"]["spearman"]["value"] == pytest.approx(recorded["difference"]["spearman"]["value"])
    from miles.cli.evaluate import _load_frame

    frame, _ = _load_frame(None, "auto", [path])  # `miles evaluate --db`: the stored thumbnails, as the retrain saw
    assert frame.loc[frame["video_id"].isin(ids), "thumb_brightness"].notna().all()
    embedded = frame.loc[frame["thumb_embedding"].notna(), "video_id"] if "thumb_embedding" in frame else []
    assert len(set(embedded)) == (60 if "embedding" in str(expected) else 0)  # read only for an embedding model
    out = CliRunner().invoke(app, ["evaluate", "--model", str(path / "prepublish"), "--db", "--no-loso", "--bootstrap",
                                   "0", "--json"], catch_exceptions=False)  # fmt: skip
    assert out.exit_code == 0, out.output


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
    loso = {"status": "compared", "sources": ["jp", "mftn"], "worse": [], "better": []}
    assert decide({"prepublish": same, "early": same}, {"prepublish": loso, "early": loso}) == (
        True,
        "promoted: not worse on any headline metric (no clear difference on any headline metric; same rows: "
        "prepublish 500 rows, early 500 rows); leave-one-source-out: prepublish not worse on jp, mftn; early not "
        "worse on jp, mftn",
    )
    worse = {**same, "worse": ["mae_log10"]}
    keep, reason = decide({"prepublish": same, "early": worse})
    assert not keep and reason.endswith("worse beyond the interval on early mae_log10")
    keep, reason = decide({"prepublish": same, "early": same}, {"early": {**loso, "worse": ["jp spearman"]}})
    assert not keep and reason.endswith("worse beyond the interval on early jp spearman (leave-one-source-out)")


def loso_model(tmp: Path, name: str, table: dict[str, object] | None) -> Path:
    """A bundle directory whose prepublish metrics.json records ``table`` as its leave-one-source-out table."""
    (tmp / name / "prepublish").mkdir(parents=True)
    (tmp / name / "bundle.json").write_text(json.dumps({"version": name, "tasks": ["prepublish"]}))
    metrics = {"leave_one_source_out": table} if table is not None else {}
    (tmp / name / "prepublish" / "metrics.json").write_text(json.dumps(metrics))
    return tmp / name


def entry(spearman: tuple[float, float, float], mae: tuple[float, float, float], rows: int = 400) -> dict[str, object]:
    def ci(v: tuple[float, float, float]) -> dict[str, float]:
        return {"value": v[0], "lo": v[1], "hi": v[2]}

    return {"rows": rows, "metrics": {"model (lightgbm)": {"spearman": ci(spearman), "mae_log10": ci(mae),
                                                           "auroc": {"value": None, "lo": None, "hi": None}},
                                      "age": {"spearman": ci((0.0, -0.1, 0.1))}}}  # fmt: skip


def test_leave_one_source_out_is_judged_source_by_source(tmp_path: Path) -> None:
    from miles.jobs.retrain import compare_loso

    champion = loso_model(tmp_path, "champ", {
        "jp": entry((0.50, 0.45, 0.55), (0.60, 0.55, 0.65)),
        "mftn": entry((0.40, 0.35, 0.45), (0.70, 0.65, 0.75)),
        "trending": entry((0.30, 0.20, 0.40), (0.90, 0.80, 1.00)),
    })  # fmt: skip
    challenger = loso_model(tmp_path, "chall", {
        "jp": entry((0.30, 0.25, 0.40), (0.62, 0.58, 0.66)),  # Spearman's interval wholly below: worse
        "mftn": entry((0.43, 0.38, 0.48), (0.50, 0.45, 0.55)),  # Spearman overlaps; MAE wholly below: better
        "ytdlp": {"skipped": "too few rows (train 10, val 0, test 3)"},
    })  # fmt: skip
    c = compare_loso(champion, challenger, "prepublish")
    assert c["status"] == "compared" and c["sources"] == ["jp", "mftn"]
    assert c["worse"] == ["jp spearman"] and c["better"] == ["mftn mae_log10"]
    assert c["champion_only"] == ["trending"] and c["challenger_skipped"] == {
        "ytdlp": "too few rows (train 10, val 0, test 3)"
    }
    assert set(c["table"]["jp"]) == {"champion_rows", "challenger_rows", "spearman", "mae_log10"}  # no AUROC figure
    keep, reason = decide({"prepublish": {"worse": [], "better": [], "report": {"rows": 9}}}, {"prepublish": c})
    assert not keep and "prepublish jp spearman (leave-one-source-out)" in reason

    off = loso_model(tmp_path, "off", None)
    assert compare_loso(champion, off, "prepublish")["status"] == (
        "not compared (this run trained no leave-one-source-out table)"
    )
    assert compare_loso(off, challenger, "prepublish")["status"].startswith("not compared (the champion recorded no")
    elsewhere = loso_model(tmp_path, "elsewhere", {"ytdlp": entry((0.5, 0.4, 0.6), (0.6, 0.5, 0.7))})
    assert compare_loso(champion, elsewhere, "prepublish")["status"] == (
        "not compared (no source in both tables: champion jp, mftn, trending; challenger ytdlp)"
    )


def test_the_shipped_model_records_its_table() -> None:
    from miles.jobs.retrain import loso_table

    for task in ("prepublish", "early"):
        table = loso_table(packaged_default_dir(), task)
        assert table is not None and len([s for s, e in table.items() if "skipped" not in e]) >= 2


def test_rows_match_however_their_timestamps_print() -> None:
    """The same row in two row sets has one key, even when only one set holds a timestamp with microseconds (a
    datetime column prints every value at the finest precision any value needs): the cause of 'the two models share
    no evaluation rows' when Miles' own captures joined the imported ones."""
    from miles.model.evaluate import _row_keys

    stamps = pd.to_datetime(["2026-01-01T10:00:00.000000Z", "2026-01-02T10:00:00.123456Z"], utc=True)
    meta = pd.DataFrame({"video_id": ["a", "b"], "as_of": stamps, "captured_at": stamps})
    assert _row_keys(meta.iloc[:1]).iloc[0] == _row_keys(meta).iloc[0]
    assert _row_keys(meta).nunique() == 2
