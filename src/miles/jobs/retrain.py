"""The scheduled retrain (DESIGN.md §7): a challenger trained on the store against the champion (the served model).

The challenger is a bundle like the default (prepublish + early) trained on every clean stored snapshot (development
data imported into the store plus Miles' own trajectories; quarantined snapshots and view-metric breaks left out).
Champion and challenger are evaluated on the same rows - the stored rows neither trained nor validated on - with a
paired bootstrap by channel. The challenger is promoted only when it is not worse beyond the interval of the
difference on any headline metric (Spearman, MAE log10, AUROC, ECE) of either task. Every run is registered in
``model_versions`` with both models' reports and the reason, promoted or not.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from miles.config import Settings
from miles.errors import InvalidInput
from miles.jobs.compare import compare_models, version_of
from miles.jobs.train import frame_from_store, train_bundle
from miles.recommend.scoring import served_model_dir
from miles.store.db import session_scope
from miles.store.repos import models as model_repo

log = logging.getLogger(__name__)
TASKS = ("prepublish", "early")
MIN_VIDEOS = 200  # fewer stored videos than this make no honest test fold


@dataclass(frozen=True)
class RetrainOptions:
    """How big a challenger to train; the worker uses the defaults (tests use a small one)."""

    text_embedding: bool = True
    n_boot: int = 200
    leave_one_source_out: bool = True
    max_train_rows: int = 120_000


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
    try:
        version, metrics = train_bundle(frame, out, settings=settings, text=options.text_embedding,
                                        register=False, overrides=overrides)  # fmt: skip
    except InvalidInput as exc:  # too little data for an honest split: nothing to compare yet
        shutil.rmtree(out, ignore_errors=True)
        return {"job": "retrain", "status": "skipped", "reason": f"no challenger trained: {exc.message}"}
    if heartbeat is not None:
        heartbeat()
    comparisons = {}
    for task in TASKS:
        comparisons[task] = compare_models(champion, out, frame, task=task, from_file=False,  # type: ignore[arg-type]
                                           n_boot=options.n_boot)  # fmt: skip
        if heartbeat is not None:
            heartbeat()
    promote, reason = decide(comparisons)
    record = retrain_record(champion, comparisons, promote=promote, reason=reason, videos=videos)
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
            "promoted": promote, "reason": reason, "videos": videos}  # fmt: skip


def decide(comparisons: dict[str, dict[str, Any]]) -> tuple[bool, str]:
    """Promote only when the challenger is worse beyond the interval on no headline metric of any task."""
    worse = [f"{task} {metric}" for task, c in comparisons.items() for metric in c["worse"]]
    if worse:
        return False, "kept the champion: the challenger is worse beyond the interval on " + ", ".join(worse)
    better = [f"{task} {metric}" for task, c in comparisons.items() for metric in c["better"]]
    rows = ", ".join(f"{task} {c['report']['rows']:,} rows" for task, c in comparisons.items())
    gain = f"better on {', '.join(better)}" if better else "no clear difference on any headline metric"
    return True, f"promoted: not worse on any headline metric ({gain}; same rows: {rows})"


def retrain_record(
    champion: Path, comparisons: dict[str, dict[str, Any]], *, promote: bool, reason: str, videos: int
) -> dict[str, Any]:
    """What ``model_versions`` keeps of a run: both models' metrics on the same rows, the differences, the verdict."""
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
    }


def _feature_version() -> str:
    from miles.features.schema import FEATURE_VERSION

    return FEATURE_VERSION


def last_retrain(settings: Settings) -> datetime | None:
    """When the newest recorded retrain ran (a worker restarted mid-week does not retrain again)."""
    with session_scope(settings) as session:
        runs = [m.created_at for m in model_repo.list_models(session=session, limit=200) if "retrain" in m.metrics]
    return max(runs) if runs else None
