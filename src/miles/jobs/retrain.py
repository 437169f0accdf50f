"""The scheduled retrain (DESIGN.md §7): a challenger trained on the store against the champion (the served model).

The challenger is a bundle like the default (prepublish + early) trained on every clean stored snapshot (development
data imported into the store plus Miles' own trajectories; quarantined snapshots, view-metric breaks and counts a
user typed in left out). The promotion rule has two parts, and the challenger is promoted only when it passes both:

1. **Same forward rows.** Champion and challenger are evaluated on the same rows - the stored rows neither trained
   nor validated on - with a paired bootstrap by channel. The challenger fails when it is worse beyond the 95 %
   interval of the difference on any headline metric (Spearman, MAE log10, AUROC, ECE) of either task.
2. **Leave one source out.** The challenger's leave-one-source-out table (trained without each source, tested on
   that source's forward rows; ``metrics.json``) is set against the champion's recorded table, source by source,
   for every source both tables hold. The two tables' rows are not the same (each model held out its own data), so
   no paired interval exists; the stated margin is the two 95 % bootstrap intervals: the challenger fails when, on
   any shared source and headline metric of either task, its interval lies wholly on the worse side of the
   champion's (no overlap). Sources only one table holds are listed, not judged. A run with the table off
   (``RetrainOptions.leave_one_source_out``) or with no shared source says so in its reason.

Every run is registered in ``model_versions`` with both models' reports (both parts) and the reason, promoted or
not.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from miles.config import Settings
from miles.errors import InvalidInput
from miles.jobs.compare import compare_models, version_of
from miles.jobs.train import (
    attach_thumbnail_embeddings,
    embedding_cache,
    frame_from_store,
    stored_images,
    train_bundle,
)
from miles.model.evaluate import HEADLINE, HIGHER_IS_BETTER
from miles.model.predict import BUNDLE
from miles.recommend.scoring import served_model_dir
from miles.store.db import session_scope
from miles.store.repos import models as model_repo

log = logging.getLogger(__name__)
TASKS = ("prepublish", "early")
MIN_VIDEOS = 200  # fewer stored videos than this make no honest test fold
# The retrain tries the thumbnail features once this many stored videos have a thumbnail Miles fetched (its image
# statistics in ``thumbnails``; for the image embedding: its EfficientNet-Lite0 vector in ``embeddings``) and views:
# below it, a held-out fold would hold too few of them to show an effect.
THUMBNAIL_MIN_VIDEOS = 500


@dataclass(frozen=True)
class RetrainOptions:
    """How big a challenger to train; the worker uses the defaults (tests use a small one)."""

    text_embedding: bool = True
    n_boot: int = 200
    leave_one_source_out: bool = True
    max_train_rows: int = 120_000
    thumbnail_min_videos: int = THUMBNAIL_MIN_VIDEOS
    thumbnail_embedding_min_videos: int = THUMBNAIL_MIN_VIDEOS


@contextmanager
def _challengers_removed_on_failure(models: Path, stamp: str) -> Iterator[None]:
    """A stopped worker (SIGTERM) or a failure leaves no unregistered challenger on disk (the kept one is registered
    only once it has been judged): an interrupted retrain left ``challenger-<stamp>`` behind, used by nothing."""
    try:
        yield
    except BaseException:
        for directory in models.glob(f"challenger-{stamp}*"):
            shutil.rmtree(directory, ignore_errors=True)
        raise


def retrain(
    settings: Settings,
    *,
    options: RetrainOptions | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train, compare, promote or keep; the result says which and why."""
    options = options or RetrainOptions()
    frame = frame_from_store(settings)
    videos = int(frame["video_id"].nunique())
    if videos < MIN_VIDEOS:
        return {"job": "retrain", "status": "skipped", "reason": f"{videos} clean stored videos; need {MIN_VIDEOS}"}
    with session_scope(settings) as session:
        champion = served_model_dir(settings, session)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = settings.data_dir / "models" / f"challenger-{stamp}"
    overrides = {"n_boot": options.n_boot, "leave_one_source_out": options.leave_one_source_out,
                 "max_train_rows": options.max_train_rows}  # fmt: skip
    log.info("retrain: training a challenger on %d stored videos into %s", videos, out)
    with _challengers_removed_on_failure(out.parent, stamp):
        try:
            version, metrics = train_bundle(frame, out, settings=settings, text=options.text_embedding,
                                            register=False, overrides=overrides)  # fmt: skip
        except InvalidInput as exc:  # too little data for an honest split: nothing to compare yet
            shutil.rmtree(out, ignore_errors=True)
            return {"job": "retrain", "status": "skipped", "reason": f"no challenger trained: {exc.message}"}
        if heartbeat is not None:
            heartbeat()
        # the frame comes back with each video's image embedding when that was tried (the kept model may read it)
        frame, out, version, metrics, ablation = try_thumbnail_features(frame, out, version, metrics,
                                                                        settings=settings, options=options,
                                                                        overrides=overrides,
                                                                        heartbeat=heartbeat)  # fmt: skip
        append_ablation_to_card(out, ablation)
        comparisons = {}
        for task in TASKS:
            comparisons[task] = compare_models(champion, out, frame, task=task, from_file=False,  # type: ignore[arg-type]
                                               n_boot=options.n_boot, cache=embedding_cache(settings))  # fmt: skip
            if heartbeat is not None:
                heartbeat()
        loso = {task: compare_loso(champion, out, task) for task in TASKS}
        promote, reason = decide(comparisons, loso)
        record = retrain_record(champion, comparisons, promote=promote, reason=reason, videos=videos, loso=loso)
        record["thumbnail_ablation"] = ablation
    with session_scope(settings) as session:
        headline = metrics["prepublish"].get("headline", {}).get("metrics", {})
        summary = {name: {k: v.get("value") for k, v in ms.items()} for name, ms in headline.items()}
        metrics_row = {**summary, "retrain": record}
        model_repo.register_model(session=session, version=version, task="both", path=str(out.resolve()),
                                  feature_version=_feature_version(), metrics=metrics_row)  # fmt: skip
        if promote:
            model_repo.promote_model(session=session, version=version)
    log.info("retrain: %s %s (%s)", version, "promoted" if promote else "kept as challenger", reason)
    return {"job": "retrain", "status": "ok", "version": version, "champion": record["champion"],
            "promoted": promote, "reason": reason, "videos": videos,
            "thumbnails": ablation["status"]}  # fmt: skip


def thumbnail_videos(frame: pd.DataFrame) -> int:
    """Stored videos with a thumbnail Miles fetched (its statistics joined by ``frame_from_store``) and views."""
    if "thumb_present" not in frame.columns:
        return 0
    return int(frame.loc[frame["thumb_present"].fillna(0) > 0, "video_id"].nunique())


STATISTICS = "image statistics"
EMBEDDING = "image statistics and embedding"
CANDIDATES: dict[str, dict[str, bool]] = {
    STATISTICS: {"thumbnail": True},
    EMBEDDING: {"thumbnail": True, "thumbnail_embedding": True},
}


def try_thumbnail_features(
    frame: pd.DataFrame,
    out: Path,
    version: str,
    metrics: dict[str, Any],
    *,
    settings: Settings,
    options: RetrainOptions,
    overrides: dict[str, Any],
    heartbeat: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, Path, str, dict[str, Any], dict[str, Any]]:
    """The thumbnail ablation: each set of thumbnail features with enough stored videos behind it is tried (the image
    statistics from ``thumbnail_min_videos`` videos with a fetched thumbnail; the statistics plus the image
    embedding's PCA from ``thumbnail_embedding_min_videos`` videos with an embedding), each against the challenger
    without thumbnail features on the same rows. Returns the frame (with a ``thumb_embedding`` column when the
    embedding was tried), the challenger that goes on to meet the champion and the ablation record."""
    stats_videos = thumbnail_videos(frame)
    images = stored_images(settings, frame["video_id"].astype(str).unique().tolist())
    ablation: dict[str, Any] = {"videos_with_thumbnails": stats_videos, "videos_with_embeddings": images.videos(),
                                "min_videos": options.thumbnail_min_videos,
                                "min_videos_embedding": options.thumbnail_embedding_min_videos,
                                "kept": False, "kept_features": None, "candidates": {}}  # fmt: skip
    tried = []
    if stats_videos >= options.thumbnail_min_videos:
        tried.append(STATISTICS)
    if images.videos() >= options.thumbnail_embedding_min_videos:
        tried.append(EMBEDDING)
        frame = attach_thumbnail_embeddings(frame, settings, images)
    if not tried:
        ablation["status"] = (f"not tried: {stats_videos:,} stored videos have a thumbnail and views and "
                              f"{images.videos():,} a thumbnail embedding; the retrain tries the image statistics from "
                              f"{options.thumbnail_min_videos:,} and the image embedding from "
                              f"{options.thumbnail_embedding_min_videos:,}")  # fmt: skip
        return frame, out, version, metrics, ablation
    trained = {"": (out, version, metrics)}
    for name in tried:
        directory = out.with_name(out.name + "-thumbnail" + ("-embedding" if name == EMBEDDING else ""))
        log.info("retrain: trying the thumbnail features (%s) into %s", name, directory)
        try:
            v, met = train_bundle(frame, directory, settings=settings, text=options.text_embedding, register=False,
                                  overrides={**overrides, **CANDIDATES[name]})  # fmt: skip
        except InvalidInput as exc:  # e.g. too few images in the training fold for the PCA
            shutil.rmtree(directory, ignore_errors=True)
            ablation["candidates"][name] = {"status": f"not trained: {exc.message}", "wins": False}
            continue
        trained[name] = (directory, v, met)
        ablation["candidates"][name] = judge(out, directory, frame, options=options, against="without")
        if heartbeat is not None:
            heartbeat()
    winners = [n for n in tried if ablation["candidates"].get(n, {}).get("wins")]
    kept = winners[0] if winners else ""
    if len(winners) == 2:  # the embedding is kept only if it also beats the statistics alone
        head = judge(trained[STATISTICS][0], trained[EMBEDDING][0], frame, options=options, against=STATISTICS)
        ablation["head_to_head"] = head
        kept = EMBEDDING if head["wins"] else STATISTICS
    for name, (directory, _, _) in trained.items():
        if name != kept:
            shutil.rmtree(directory, ignore_errors=True)
    verdicts = "; ".join(f"{n}: {c['status']}" for n, c in ablation["candidates"].items())
    if kept:
        ablation.update(kept=True, kept_features=kept)
        ablation["status"] = f"kept the {kept} ({verdicts})"
    else:
        ablation["status"] = f"dropped ({verdicts})"
    return (frame, *trained[kept], ablation)


def judge(a: Path, b: Path, frame: pd.DataFrame, *, options: RetrainOptions, against: str) -> dict[str, Any]:
    """B (with more thumbnail features) against A on the same rows: it wins when better beyond the paired interval on
    at least one headline metric and worse on none, in both tasks together."""
    comparisons = {task: compare_models(a, b, frame, task=task, from_file=False,  # type: ignore[arg-type]
                                        n_boot=options.n_boot) for task in TASKS}  # fmt: skip
    worse = [f"{task} {m}" for task, c in comparisons.items() for m in c["worse"]]
    better = [f"{task} {m}" for task, c in comparisons.items() for m in c["better"]]
    wins = bool(better) and not worse
    if wins:
        status = f"better than {against} on " + ", ".join(better)
    elif worse:
        status = f"worse than {against} on " + ", ".join(worse)
    else:
        status = f"no clear difference from {against} on any headline metric"
    return {
        "status": status,
        "wins": wins,
        "against": against,
        "comparison": {
            task: {"rows": c["report"]["rows"], "names": c["names"], "metrics": c["report"]["metrics"],
                   "difference": c["difference"], "worse": c["worse"], "better": c["better"]}
            for task, c in comparisons.items()
        },
    }  # fmt: skip


def append_ablation_to_card(directory: Path, ablation: dict[str, Any]) -> None:
    """The thumbnail ablation as a section of the challenger's model card (the bundle's and each task's copy)."""
    lines = ["", "## Thumbnail features (retrain ablation)", "",
             f"Stored videos with a thumbnail and views: {ablation['videos_with_thumbnails']:,}; with a thumbnail "
             f"embedding: {ablation['videos_with_embeddings']:,} (the retrain tries the image statistics from "
             f"{ablation['min_videos']:,} and the image embedding from {ablation['min_videos_embedding']:,}). "
             f"Result: {ablation['status']}."]  # fmt: skip
    judged = [(name, c) for name, c in ablation["candidates"].items() if "comparison" in c]
    if "head_to_head" in ablation:
        judged.append((f"{EMBEDDING} (against {STATISTICS})", ablation["head_to_head"]))
    for name, judgement in judged:
        for task, c in judgement["comparison"].items():
            a, b = c["names"]
            lines += ["", f"{task}: {judgement['against']} (A) vs {name} (B) on the same {c['rows']:,} rows", "",
                      "| metric | A | B | B - A (95% paired interval) |", "|---|---|---|---|"]  # fmt: skip
            for metric in HEADLINE:
                va, vb = c["metrics"][a].get(metric, {}), c["metrics"][b].get(metric, {})
                d = c["difference"].get(metric)
                if d is None:
                    continue
                delta = f"{_fmt(d.get('value'), True)} ({_fmt(d.get('lo'), True)} to {_fmt(d.get('hi'), True)})"
                lines.append(f"| {metric} | {_fmt(va.get('value'))} | {_fmt(vb.get('value'))} | {delta} |")
    text = "\n".join(lines) + "\n"
    for card in [directory / "MODEL_CARD.md", *(directory / task / "MODEL_CARD.md" for task in TASKS)]:
        if card.is_file():
            card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + "\n" + text, encoding="utf-8")


def _fmt(value: object, sign: bool = False) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def decide(comparisons: dict[str, dict[str, Any]], loso: dict[str, dict[str, Any]] | None = None) -> tuple[bool, str]:
    """Promote only when the challenger is worse beyond the interval on no headline metric of any task, on the same
    rows and on no source of the leave-one-source-out tables (see the module docstring)."""
    loso = loso or {}
    worse = [f"{task} {metric}" for task, c in comparisons.items() for metric in c["worse"]]
    worse += [f"{task} {w} (leave-one-source-out)" for task, c in loso.items() for w in c["worse"]]
    if worse:
        return False, "kept the champion: the challenger is worse beyond the interval on " + ", ".join(worse)
    better = [f"{task} {metric}" for task, c in comparisons.items() for metric in c["better"]]
    rows = ", ".join(f"{task} {c['report']['rows']:,} rows" for task, c in comparisons.items())
    gain = f"better on {', '.join(better)}" if better else "no clear difference on any headline metric"
    return True, f"promoted: not worse on any headline metric ({gain}; same rows: {rows}); {loso_summary(loso)}"


def loso_summary(loso: dict[str, dict[str, Any]]) -> str:
    """One clause for the reason: which sources the leave-one-source-out part judged, or why none."""
    if not loso:
        return "leave-one-source-out: not compared"
    parts = []
    for task, c in loso.items():
        if c["status"] != "compared":
            parts.append(f"{task} {c['status']}")
        else:
            parts.append(f"{task} not worse on {', '.join(c['sources'])}")
    return "leave-one-source-out: " + "; ".join(parts)


def loso_table(directory: Path, task: str) -> dict[str, Any] | None:
    """The leave-one-source-out table a model recorded for ``task`` (None when it was trained without one)."""
    if (directory / BUNDLE).is_file():
        directory = directory / task
    path = directory / "metrics.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    table = data.get("leave_one_source_out") if isinstance(data, dict) else None
    return dict(table) if table else None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _model_metrics(entry: dict[str, Any]) -> dict[str, Any]:
    metrics = entry.get("metrics") or {}
    return dict(next(iter(metrics.values()))) if metrics else {}


def compare_loso(champion: Path, challenger: Path, task: str) -> dict[str, Any]:
    """The challenger's leave-one-source-out figures against the champion's, per source both tables hold: ``worse``
    and ``better`` list ``source metric`` where the two 95 % intervals do not overlap."""
    a, b = loso_table(champion, task), loso_table(challenger, task)
    if a is None or b is None:
        who = "the champion recorded" if a is None else "this run trained"
        return {"status": f"not compared ({who} no leave-one-source-out table)", "sources": [], "worse": [],
                "better": [], "table": {}}  # fmt: skip
    usable_a = {s: e for s, e in a.items() if "skipped" not in e}
    usable_b = {s: e for s, e in b.items() if "skipped" not in e}
    shared = sorted(set(usable_a) & set(usable_b))
    table: dict[str, Any] = {}
    worse, better = [], []
    for source in shared:
        ma, mb = _model_metrics(usable_a[source]), _model_metrics(usable_b[source])
        row: dict[str, Any] = {
            "champion_rows": usable_a[source].get("rows"),
            "challenger_rows": usable_b[source].get("rows"),
        }
        for metric in HEADLINE:
            ca, cb = ma.get(metric) or {}, mb.get(metric) or {}
            if not all(_finite(x.get(k)) for x in (ca, cb) for k in ("value", "lo", "hi")):
                continue  # no figure (e.g. AUROC of a source where every video is viral)
            row[metric] = {"champion": ca, "challenger": cb}
            up = HIGHER_IS_BETTER[metric]
            if (cb["hi"] < ca["lo"]) if up else (cb["lo"] > ca["hi"]):
                worse.append(f"{source} {metric}")
            elif (cb["lo"] > ca["hi"]) if up else (cb["hi"] < ca["lo"]):
                better.append(f"{source} {metric}")
        table[source] = row
    skipped = {s: e["skipped"] for s, e in b.items() if "skipped" in e}
    status = "compared" if shared else (
        "not compared (no source in both tables: champion " + ", ".join(sorted(usable_a)) + "; challenger "
        + (", ".join(sorted(usable_b)) or "none") + ")"
    )  # fmt: skip
    only_a, only_b = sorted(set(usable_a) - set(shared)), sorted(set(usable_b) - set(shared))
    return {"status": status, "sources": shared, "worse": worse, "better": better, "table": table,
            "champion_only": only_a, "challenger_only": only_b, "challenger_skipped": skipped}  # fmt: skip


def retrain_record(
    champion: Path,
    comparisons: dict[str, dict[str, Any]],
    *,
    promote: bool,
    reason: str,
    videos: int,
    loso: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What ``model_versions`` keeps of a run: both models' metrics on the same rows, the differences, both
    leave-one-source-out tables side by side, the verdict."""
    return {
        "champion": version_of(champion),
        "champion_path": str(champion),
        "promoted": promote,
        "reason": reason,
        "stored_videos": videos,
        "comparison": {
            task: {
                "rows": c["report"]["rows"],
                "groups": c["report"]["groups"],
                "names": c["names"],
                "metrics": c["report"]["metrics"],
                "difference": c["difference"],
                "worse": c["worse"],
                "better": c["better"],
            }
            for task, c in comparisons.items()
        },
        "leave_one_source_out": loso or {},
    }


def _feature_version() -> str:
    from miles.features.schema import FEATURE_VERSION

    return FEATURE_VERSION


def last_retrain(settings: Settings) -> datetime | None:
    """When the newest recorded retrain ran (a worker restarted mid-week does not retrain again)."""
    with session_scope(settings) as session:
        runs = [m.created_at for m in model_repo.list_models(session=session, limit=200) if "retrain" in m.metrics]
    return max(runs) if runs else None
