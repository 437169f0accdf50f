"""Model card: the served model's metrics beside its baselines, calibration, ablations, training data and date,
and what the model does not know — all read from the artifact (manifest.json, metrics.json, MODEL_CARD.md),
the same files ``GET /api/v1/model`` returns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from markdown_it import MarkdownIt

from miles.errors import MilesError
from miles.model.card import card_section
from miles.serve.pages.charts import reliability_figure
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.services.model import PredictorHolder, live_section, read_artifact

router = APIRouter(include_in_schema=False)
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
_UNKNOWN = re.compile(r"not know|limitation|caveat|out of scope|does not|selection bias", re.IGNORECASE)
# the early table's columns (metrics.json keys, evaluate.TI_LABELS) as a creator reads them: "t_i < 6h" was shown
READING_AGE_WORDS = {"all": "any age", "t_i < 6h": "under 6 h", "6h-1d": "6 h – 1 day", "1-3d": "1–3 days",
                     "3-7d": "3–7 days", "> 7d": "over 7 days"}  # fmt: skip
METRIC_NAMES = {
    "spearman": "Spearman ρ ↑",
    "r2": "R² ↑",
    "mae_log10": "MAE log10 ↓",
    "auroc": "AUROC ↑",
    "pr_auc": "PR-AUC ↑",
    "precision_at_k": "precision@k ↑",
    "ece": "ECE ↓",
}
# every metric the page shows, in plain words (the page's glossary, the column headers' tooltips, the JSON twin)
METRIC_WORDS = {
    "spearman": "Whether the forecasts put videos in the right order of views: 1 = the same order as the real views, "
    "0 = no better than shuffling them, below 0 = the order reversed.",
    "r2": "How much of the spread in real views (log10) the forecasts explain: 1 = all of it, 0 = no better than "
    "forecasting the same average for every video, below 0 = worse than that.",
    "mae_log10": "How far off the median forecast is on average, in log10 views: 0.3 = off by a factor of 2 either "
    "way, 0.6 = by ×4 (forecasts are typically within ×4 of the real views), 1.0 = by ×10.",
    "auroc": "Given one video that went viral and one that did not, how often the model gave the viral one the higher "
    "viral chance: 0.5 = a coin toss, 1 = always. Trending-list videos are easy to tell from ordinary uploads, "
    "which lifts it here.",
    "pr_auc": "How well the videos given the highest viral chances are the viral ones, over every cut-off: a random "
    "guess scores the table's viral rate, so compare it with that.",
    "precision_at_k": "Of the k videos given the highest viral chance (the top tenth of the table's rows; k and how "
    "many of them went viral are under each value), the share that went viral. A random pick scores the viral "
    "rate: when most rows are viral, 1.000 says little.",
    "ece": "How far the viral chances are from what happened: of videos given 30 %, 30 % should go viral. 0.05 = off "
    "by 5 percentage points on average.",
    "mrse": "Mean relative squared error: the average of (forecast ÷ real views − 1)². 0.01 = typically about 10 % "
    "off, 1 = off by as much as the real views; one forecast 1,000× too high adds about a million, so a baseline "
    "in the millions over-forecasts some videos wildly.",
    "coverage_p10_p90": "How often the real views fell inside the forecast's 80 % range (p10 to "
    "p90). 80 % is exact; less means the range is too narrow, more that it is too wide.",
    "bias_log10": "Whether forecasts run high (+) or low (−) on average, in log10 views: +0.3 = about ×2 too high.",
}
EXTRA_METRIC_NAMES = {"mrse": "mRSE ↓", "coverage_p10_p90": "p10–p90 coverage", "bias_log10": "Bias log10"}


def metric_words() -> list[dict[str, str]]:
    """The glossary: each metric the page shows, its column label and what it means."""
    names = {**METRIC_NAMES, **EXTRA_METRIC_NAMES}
    return [{"key": k, "name": names[k], "means": words} for k, words in METRIC_WORDS.items()]


def metric_table(report: dict[str, Any]) -> dict[str, Any]:
    """{columns, rows: [{name, is_model, cells: [{value, lo, hi}|None]}]} from one evaluation report."""
    models: dict[str, dict[str, Any]] = report.get("metrics") or {}
    columns = [m for m in METRIC_NAMES if any(m in v for v in models.values())]
    columns += sorted({m for v in models.values() for m in v} - set(columns))
    rows = [
        {"name": name, "is_model": name.startswith("model"), "cells": [values.get(c) for c in columns]}
        for name, values in models.items()
    ]
    rows.sort(key=lambda r: not r["is_model"])
    return {
        "columns": [{"key": c, "label": METRIC_NAMES.get(c, c), "means": METRIC_WORDS.get(c)} for c in columns],
        "rows": rows,
    }


def unknowns_section(card: str | None) -> str | None:
    """The model card's section on what the model does not know (its heading matches), as Markdown."""
    if not card:
        return None
    sections = re.split(r"(?m)^(?=#{1,3} )", card)
    found = [s for s in sections if s.startswith("#") and _UNKNOWN.search(s.splitlines()[0])]
    # the page heads the box "What the model does not know": the card's own heading of that name would repeat it
    bodies = [s.split("\n", 1)[1] if "not know" in s.splitlines()[0].lower() and "\n" in s else s for s in found]
    return "\n".join(b.strip("\n") for b in bodies) or None


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def loso_rows(loso: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Leave-one-source-out in the shape of ``test_by_source``: per held-out source its rows, the sources trained on,
    the model's p10-p90 coverage and each model's MAE log10 / Spearman (the card's table of that name)."""
    out: dict[str, dict[str, Any]] = {}
    for source, report in loso.items():
        if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
            continue  # a source that could not be held out records why, not metrics
        models = {
            name: {k: (ms.get(k) or {}).get("value") for k in ("mae_log10", "spearman")}
            for name, ms in report["metrics"].items()
            if isinstance(ms, dict)
        }
        out[source] = {"rows": report.get("rows"), "trained_on": report.get("trained_on"),
                       "coverage_p10_p90": report.get("coverage_p10_p90"), **models}  # fmt: skip
    return out


def task_section(name: str, manifest: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One task's (prepublish or early) training data, metric tables, calibration and per-source results."""
    reports = {k: v for k, v in metrics.items() if isinstance(v, dict) and "metrics" in v}
    tables = {
        k: {
            **metric_table(v),
            "fold": v.get("fold"),
            "n_rows": v.get("rows"),
            "videos": v.get("videos"),
            "groups": v.get("groups"),
            "viral_rate": v.get("viral_rate"),
            "k": v.get("precision_at_k_k"),
        }
        for k, v in reports.items()
    }
    headline = reports.get("headline") or next(iter(reports.values()), {})
    return {
        "task": manifest.get("task") or name,
        "kind": manifest.get("kind"),
        "created_at": manifest.get("created_at"),
        "feature_version": manifest.get("feature_version"),
        "training": manifest.get("training"),
        "reports": tables,
        "reliability": headline.get("reliability"),
        "mrse_by_t_i": headline.get("mrse_by_t_i"),
        "t_i_counts": headline.get("t_i_counts") or None,
        "ablations": metrics.get("ablations"),
        "interval_coverage": metrics.get("interval_coverage_p10_p90"),
        "by_source": metrics.get("test_by_source"),
        "leave_one_source_out": loso_rows(metrics.get("leave_one_source_out") or {}) or None,
    }


def artifact_tasks(path: Path, artifact: dict[str, Any]) -> list[dict[str, Any]]:
    """A single artifact (metrics with a headline) or a bundle (metrics and manifests per task folder)."""
    metrics = artifact.get("metrics") or {}
    manifest = artifact.get("manifest") or {}
    if "headline" in metrics or "task" in manifest:  # one task's artifact, not a bundle
        return [task_section(str(manifest.get("task") or "model"), manifest, metrics)]
    return [
        task_section(task, _json_file(path / task / "manifest.json"), task_metrics)
        for task, task_metrics in metrics.items()
        if isinstance(task_metrics, dict)
    ]


def model_data(page: Page) -> dict[str, Any]:
    holder: PredictorHolder = page.request.app.state.predictor
    try:
        predictor = page.predictor()
    except MilesError as exc:
        return {"available": False, "message": exc.message}
    path = holder.path
    artifact = read_artifact(path) if path is not None else {}
    card = artifact.get("model_card")
    return {
        "available": True,
        "version": predictor.version,
        "origin": holder.origin,
        "tasks": artifact_tasks(path, artifact) if path is not None else [],
        "model_card": card,
        "unknowns": unknowns_section(card),
        "plain_words": card_section(card, "In plain words") if card else None,
        "metric_words": metric_words(),
        "live": live_section(session=page.session, version=predictor.version),
    }


@router.get("/model")
@router.get("/model.json")
def model_card(page: PageDep) -> Response:
    data = model_data(page)
    extra: dict[str, Any] = {}
    if not page.wants_json and data.get("available"):
        extra["card_html"] = _MD.render(data["model_card"]) if data.get("model_card") else None
        extra["unknowns_html"] = _MD.render(data["unknowns"]) if data.get("unknowns") else None
        extra["plain_words_html"] = _MD.render(data["plain_words"]) if data.get("plain_words") else None
        extra["reading_age_words"] = READING_AGE_WORDS
        extra["reliability_figures"] = {
            t["task"]: reliability_figure(t["reliability"]) for t in data["tasks"] if t.get("reliability")
        }
    return render(page, "model.html", data, **extra)
