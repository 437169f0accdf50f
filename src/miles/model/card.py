"""MODEL_CARD.md: what the model is, what it was trained on, how it scores beside the baselines, and
what it predicts for small and large channels (DESIGN.md §3.3 rule 7) - all numbers read from files."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from miles.inputs import format_age_window

SANITY_SUBSCRIBERS = (1_000, 10_000, 1_000_000)
SANITY_HORIZONS_H = (1.0, 24.0, 168.0)
SANITY_TITLE = "How I fixed my slow laptop in 5 minutes"
# the card's drafts are published at a fixed time: "now" moved the sanity table's p90 a few % between trainings
# (publish hour and weekday are features), so two cards of the same model disagreed
SANITY_PUBLISH_AT = "2026-01-14T17:00:00+00:00"
UNKNOWNS = "\n".join(
    [
        "- Anything published after its training data (the publish ranges per source are listed below).",
        "- Channels under ~1,000 subscribers: few in the data (mftn: 6 %); the typical YouTube channel (~110 "
        "subscribers) is far below it, so small-channel predictions are optimistic.",
        "- Thumbnails: no images in the data, so the image is not used (its statistics only marked the jp source).",
        "- Niches and languages beyond the data: French-speaking tech channels, Japanese keyword search, and the "
        "2019–20 trending lists of 12 countries (pre-Shorts).",
        "- Forecasts from views read in a video's first 6 hours: few ordinary uploads in the data were read that "
        "young (row counts by reading age, t_i, in the early task's table), so how accurate such forecasts are is "
        "uncertain.",
        "- How wide its range really is on data unlike its own: out of source the p10–p90 interval held the real "
        "views less often than 80 % (the coverage column of the leave-one-source-out table).",
    ]
)


def sanity_rows(predictor: Any) -> list[dict[str, Any]]:
    """What the prepublish model predicts for one ordinary draft on channels of three sizes."""
    drafts = [
        {
            "title": SANITY_TITLE,
            "duration_s": 45,
            "category_id": 28,
            "channel_subscribers": s,
            "publish_at": SANITY_PUBLISH_AT,
        }
        for s in SANITY_SUBSCRIBERS
    ]
    preds = predictor.predict(drafts, horizons=SANITY_HORIZONS_H)
    rows = []
    for subs, pred in zip(SANITY_SUBSCRIBERS, preds, strict=True):
        for h in pred.horizons:
            rows.append({"subscribers": subs, "horizon_h": h.horizon_h, "p10": h.p10, "p50": h.p50, "p90": h.p90})
    return rows


BLANK_BASE: dict[str, Any] = {"title": SANITY_TITLE, "channel_subscribers": 7_600, "duration_s": 35.0,
                               "category_id": 28, "description": "Three settings that made my old laptop fast again.",
                               "tags": ["laptop", "windows", "tech tips"], "country": "US",
                               "publish_at": SANITY_PUBLISH_AT}  # fmt: skip
BLANK_FIELDS = ("duration_s", "category_id", "description", "tags", "country", "channel_subscribers")


def blank_field_rows(predictor: Any) -> list[dict[str, Any]]:
    """For each optional input: the largest ratio, over the horizons, between p50 with it blank and filled in with its
    typical value (for subscribers: the count a blank stands for, the ordinary uploads' median channel)."""
    import numpy as np

    level = getattr(predictor.prepublish.model, "offset_model", None)
    typical = getattr(level, "state", {}).get("typical_log_subscribers")
    base = {**BLANK_BASE, "channel_subscribers": round(float(np.expm1(typical)))} if typical is not None else BLANK_BASE
    drafts = [base] + [{k: v for k, v in base.items() if k != f} for f in BLANK_FIELDS]
    preds = predictor.predict(drafts, explain=False)
    filled = [h.p50 for h in preds[0].horizons]
    rows = []
    for field, pred in zip(BLANK_FIELDS, preds[1:], strict=True):
        ratios = [max(a, b) / max(1.0, min(a, b)) for a, b in zip(filled, (h.p50 for h in pred.horizons), strict=True)]
        rows.append({"field": field, "filled": base[field], "max_ratio": max(ratios)})
    return rows


def blank_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| input left blank | its filled-in value | largest p50 ratio over the horizons |", "|---|---|---|"]
    lines += [f"| {r['field']} | {r['filled']} | {r['max_ratio']:.2f}× |" for r in rows]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    """A metric in the card: three decimals, or whole numbers with separators from 1,000 on (a baseline's mRSE read
    16703862.980)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3f}"
    return str(v)


def metrics_table(report: Mapping[str, Any]) -> str:
    names = ("spearman", "r2", "mae_log10", "auroc", "pr_auc", "precision_at_k", "ece")
    lines = ["| model | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for model, ms in report.get("metrics", {}).items():
        cells = []
        for n in names:
            iv = ms.get(n)
            cells.append("–" if not iv else f"{_fmt(iv['value'])} [{_fmt(iv['lo'])}, {_fmt(iv['hi'])}]")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def viral_table(report: Mapping[str, Any]) -> str:
    """AUROC, PR-AUC and ECE of every model on the test fold's ordinary uploads (``viral_on_ordinary``)."""
    models = {k: v for k, v in report.items() if isinstance(v, Mapping)}
    if not models:
        return ""
    lines = [f"{report['rows']:,} rows, viral rate {report['viral_rate']:.3f}.", "",
             "| model | AUROC | PR-AUC | ECE |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {_fmt(v['auroc'])} | {_fmt(v['pr_auc'])} | {_fmt(v['ece'])} |" for k, v in models.items()]
    return "\n".join(lines)


def mrse_table(report: Mapping[str, Any]) -> str:
    by = report.get("mrse_by_t_i") or {}
    if not by:
        return ""
    labels = list(next(iter(by.values())).keys())
    lines = ["| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for model, ms in by.items():
        lines.append(f"| {model} | " + " | ".join(_fmt(ms[k]["value"]) for k in labels) + " |")
    counts = report.get("t_i_counts") or {}
    lines.append("| rows | " + " | ".join(str(counts.get(k, "")) for k in labels) + " |")
    return "\n".join(lines)


def source_table(by_source: Mapping[str, Any]) -> str:
    """One row per source, one MAE / Spearman column pair per model (the like-for-like comparison)."""
    if not by_source:
        return ""
    models = [k for k, v in next(iter(by_source.values())).items() if isinstance(v, Mapping)]
    head = " | ".join(f"{m} MAE log10 / Spearman" for m in models)
    lines = [f"| source | rows | p10–p90 coverage | {head} |", "|---" * (len(models) + 3) + "|"]
    for source, entry in by_source.items():
        cells = " | ".join(
            f"{_fmt(entry[m]['mae_log10'])} / {_fmt(entry[m]['spearman'])}" if m in entry else "–" for m in models
        )
        lines.append(f"| {source} | {entry['rows']} | {_fmt(entry.get('coverage_p10_p90'))} | {cells} |")
    return "\n".join(lines)


def sanity_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| subscribers | age | p10 | p50 | p90 |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['subscribers']:,} | {r['horizon_h']:g} h | {r['p10']:,.0f} | {r['p50']:,.0f} | {r['p90']:,.0f} |"
        )
    return "\n".join(lines)


def ablation_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| features | task | test rows | Spearman | MAE log10 | AUROC |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['task']} | {r['rows']} | {_fmt(r['spearman'])} | {_fmt(r['mae_log10'])} "
            f"| {_fmt(r['auroc'])} |"
        )
    return "\n".join(lines)


def _ordinary_scale(metrics: Mapping[str, Any]) -> str:
    scale = metrics.get("ordinary_interval_scale")
    if not scale:
        return ""
    by_size = "".join(
        f"{', ' if i else '; by channel size, read between: '}{lo:.2f} / {hi:.2f} at {math.expm1(at):,.0f} subscribers"
        for i, (at, lo, hi) in enumerate(metrics.get("ordinary_size_scale") or [])
    )
    unknown = metrics.get("unknown_size_scale")
    unknown_text = f", {unknown[0]:.2f} / {unknown[1]:.2f} where the size is not known" if unknown else ""
    return ("; ordinary uploads and drafts: " + " / ".join(f"{v:.2f}" for v in scale) + ", calibrated on theirs alone"
            + by_size + unknown_text)  # fmt: skip


def _age_scale(metrics: Mapping[str, Any]) -> str:
    points = metrics.get("age_interval_scale")
    if not points:
        return ""
    by_age = ", ".join(f"{lo:.2f} / {hi:.2f} at {hours:.0f} h" for hours, lo, hi in points)
    return f"; by the reading's age, read between: {by_age}"


def loso_table(loso: Mapping[str, Any]) -> str:
    """Leave-one-source-out: per held-out source, MAE log10 / Spearman of the model and each baseline."""
    done = {s: r for s, r in loso.items() if "metrics" in r}
    if not done:
        return ""
    models = list(next(iter(done.values()))["metrics"])
    lines = ["| held-out source (trained on the others) | rows | model p10–p90 coverage | "
             + " | ".join(f"{m} MAE / Spearman" for m in models) + " |", "|---" * (len(models) + 3) + "|"]  # fmt: skip
    for source, r in done.items():
        cells = []
        for m in models:
            ms = r["metrics"].get(m, {})
            mae, sp = (ms.get(k, {}).get("value") for k in ("mae_log10", "spearman"))
            cells.append(f"{_fmt(mae)} / {_fmt(sp)}")
        lines.append(f"| {source} | {r['rows']:,} | {_fmt(r.get('coverage_p10_p90'))} | " + " | ".join(cells) + " |")
    for source, r in done.items():
        if r.get("mrse_by_t_i"):
            lines += ["", f"mRSE by t_i, held-out `{source}`:", "", mrse_table(r)]
    return "\n".join(lines)


def plain_words(sections: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]]) -> str:
    """The top of the card, for creators: how far off it usually is, on what, and where its data ends."""
    manifest, metrics = sections.get("prepublish") or next(iter(sections.values()))
    model = next(iter(metrics["headline"]["metrics"]))
    mae = metrics["headline"]["metrics"][model]["mae_log10"]["value"]
    loso = metrics.get("leave_one_source_out") or {}
    ordinary = [r for s, r in loso.items() if "metrics" in r and "trending" not in s and "search" not in s]
    ends = max((v["last_publish"][:10] for v in manifest.get("training", {}).get("sources", {}).values()), default="?")
    lines = [
        "## In plain words",
        f"- **How far off it usually is.** Before publishing, on channels it never saw: the forecast is off by a "
        f"factor of ×{10**mae:.1f} on average (mean absolute error in log10 views), more for small channels; every "
        "forecast says how far off forecasts for its channel size were.",
    ]
    if ordinary:
        loso_mae = ordinary[0]["metrics"][model]["mae_log10"]["value"]
        lines.append(
            f"- **Without data like yours it is far off.** Trained with every ordinary upload left out (trending "
            f"lists and search results only), it was typically off by ×{10**loso_mae:.0f} on ordinary uploads: it "
            "needs videos like the ones it forecasts, which is why Miles learns from the videos you track. Treat a "
            "single forecast as a range; the p10–p90 band is that range."
        )
    trees = (metrics.get("tree_transfer") or {}).get("chosen", 1.0)
    good = "telling which of two drafts for the same channel will likely do better, and " if trees else ""
    lines.append(f"- **Good at:** {good}what a channel of a given size usually gets at each age. With views from the "
                 "first hours it is much sharper (early mode).")  # fmt: skip
    if not trees:
        lines.append("- **Not at:** telling two drafts of one channel apart: titles, lengths and posting times moved "
                     "forecasts in one source but not in the others, so this model leaves them out and every draft "
                     "of a channel gets the same median.")  # fmt: skip
    lines += [
        "- **Weak at:** spotting the rare hit (trending-list videos get far more than any forecast); channels under "
        "1,000 subscribers; niches and languages beyond French tech, Japanese search results and 2019–20 trending.",
        "- **What the numbers mean:** every forecast is for an *ordinary upload* of a channel of that size. "
        "'Viral chance' is the chance the video ends up in the top 20 % of videos of its channel size and category at "
        "the same age.",
        f"- **Where its data comes from:** public datasets of trending lists, keyword-search results and ordinary "
        f"uploads of tech channels; the newest video it learned from was published on {ends}.",
    ]
    return "\n".join(lines)


def accuracy_table(rows: list[Mapping[str, Any]]) -> str:
    """What every forecast's accuracy sentence is read from: 8 of 10 unseen-channel ordinary uploads within xK."""
    from miles.model.predict import BAND_LABELS

    if "min_t_i_h" in rows[0]:  # the early table: by the age the views were read at
        lines = ["| views read | within ×K for 8 of 10 videos | videos |", "|---|---|---|"]
        lines += [f"| {r['read']} | ×{r['within_factor']:.1f} | {r['videos']} |" for r in rows]
        return "\n".join(lines)
    lines = ["| channel size | views at | within ×K for 8 of 10 videos | videos |", "|---|---|---|---|"]
    lines += [f"| {BAND_LABELS[r['band']]} | {format_age_window(r['min_age_h'], r['max_age_h'])} | "
              f"×{r['within_factor']:.1f} | {r['videos']} |" for r in rows]  # fmt: skip
    return "\n".join(lines)


def task_section(task: str, manifest: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    head = metrics["headline"]
    training = manifest.get("training", {})
    sources = "\n".join(
        f"- `{s}`: {v['rows']:,} rows (weight share {v.get('weight_share', '–')}), published "
        f"{v['first_publish'][:10]} → {v['last_publish'][:10]}"
        for s, v in training.get("sources", {}).items()
    )
    parts = [
        f"## Task `{task}`",
        f"Trained on {training.get('rows', 0):,} rows ({training.get('videos', 0):,} videos, "
        f"{training.get('groups', 0):,} channels); fingerprint `{training.get('fingerprint')}`; viral threshold "
        f"(age-adjusted residual, top 20 % of the training fold) {training.get('viral_threshold', 0):.3f}.",
        sources,
        f"\n### Headline test fold (unseen channels, later dates): {head['rows']:,} rows, {head['groups']:,} groups, "
        f"viral rate {head['viral_rate']:.3f}. 95 % intervals: bootstrap over channels.",
        metrics_table(head),
        f"\np10–p90 interval coverage on the test fold: {metrics.get('interval_coverage_p10_p90', float('nan')):.3f} "
        "(nominal 0.80; offsets scaled by "
        + " / ".join(f"{v:.2f}" for v in metrics.get("interval_scale", [1.0, 1.0]))
        + " (low / high side), chosen on the validation fold by split-conformal calibration"
        + _ordinary_scale(metrics)
        + _age_scale(metrics)
        + ").",
    ]
    if viral := viral_table(metrics.get("viral_on_ordinary") or {}):
        parts += ["\n### The viral chance on ordinary uploads (test fold)",
                  "The whole fold's viral rate is high because trending and search videos are hits by selection and "
                  "'viral' by an ordinary upload's yardstick, so the AUROC above mostly tells a trending video from "
                  "an ordinary one. On the ordinary uploads, where the definition lives:", viral]  # fmt: skip
    if mrse := mrse_table(head):
        parts += ["\n### Early task: mean relative squared error by indicator age t_i", mrse]
    parts += ["\n### Test fold by source (within a source the sampling frame is constant)",
              source_table(metrics.get("test_by_source", {}))]  # fmt: skip
    if rows := metrics.get("accuracy_by_band"):
        parts += ["\n### How far off, by channel size or (early) reading age (validation and test folds: "
                  "channels never trained on, later dates; ordinary uploads; at least 30 rows a cell)",
                  accuracy_table(rows)]  # fmt: skip
    if loso := loso_table(metrics.get("leave_one_source_out") or {}):
        parts += ["\n### Second headline: leave-one-source-out (DESIGN.md §3.3 rule 8)",
                  "Each source in turn is left out of training (model and baselines), then its test-fold rows are "
                  "predicted as the model predicts a draft: as ordinary uploads, since a held-out sampling frame is "
                  "unknown. Users' data comes from none of these sources, so this is the table to "
                  "trust.", loso]  # fmt: skip
    return "\n\n".join(parts)


def write_card(
    directory: Path,
    *,
    version: str,
    sections: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
    sanity: list[dict[str, Any]],
    ablations: list[dict[str, Any]] | None = None,
    blanks: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``directory/MODEL_CARD.md``; ``sections`` maps task -> (manifest, metrics)."""
    any_manifest = next(iter(sections.values()))[0]
    extra = any_manifest.get("extra", {})
    text = [
        f"# Miles model card — `{version}`",
        plain_words(sections),
        "## How it works",
        "LightGBM over leak-free features (title text and its MiniLM embedding, duration, category, posting "
        "time, channel size and the channel's earlier uploads, and in early mode the views seen so far). "
        "**Prepublish:** the trees start from the *level of an ordinary upload* - log views from channel size "
        "and age, fitted on the ordinary-uploads source only (`ordinary_level`, an increasing age curve and a "
        "non-negative subscriber slope; younger than the ages its uploads were read at, the curve follows the "
        "same videos' growth between readings, as the early model's does) - plus, for training rows, their "
        "sampling frame's shift (trending lists and search results are successes by selection); the trees learn "
        "what moves a video within its source, with every optional field blanked at random in 30 % of the "
        "training rows of every source, so that a blank carries no evidence of the source. Their correction "
        "counts only as much as cross-source validation shows it carries to a source they never saw (the trees' "
        "weight, `tree_transfer` in metrics.json; 0 means the forecast is the level). A draft is forecast as an "
        "ordinary upload (no shift). p10/p90 are quantile boosters of the offset from the centre, widened by "
        "split-conformal factors chosen on the validation fold (a draft's: on its ordinary uploads alone, whose "
        "range the factors for every row made too wide). 'Viral chance' is read from the views forecast "
        "(isotonic on the validation fold), so a higher forecast never gets a lower chance. **Early:** the "
        "centre starts from Pinto's model (fitted on the training fold) and learns the residual, from the "
        "trajectory only (views so far, their ages); per indicator-age bucket it keeps weight only where its "
        "gain over the better of Szabo–Huberman and Pinto holds in at least two sources of the validation fold, "
        "else the bucket is served by that reference (Pinto unless Szabo–Huberman wins in every source; "
        "DESIGN.md §3.3 rule 10), with the p10–p90 interval recalibrated around the centre served. An ordinary "
        "upload read under 6 hours follows one growth curve instead (`growth_curve`: rising, never faster per "
        "doubling of age, fitted on the ordinary uploads' pairs of readings, since the references' young cells "
        "mix trending videos into it), and a reading under 3 days is carried along that curve past two weeks, "
        "where no pair of readings reaches. All metrics are on test folds (channels never seen in training, "
        "published after the training period), beside baselines fitted on the same training rows.",
        f"Feature version `{any_manifest['feature_version']}`; text encoder `{extra.get('encoders', {}).get('text')}` "
        "(title embedding → 16 PCA components fitted on the training fold).",
        f"### Predicted views for an ordinary draft (\u201c{SANITY_TITLE}\u201d, 45 s, Science & Technology, "
        f"published {SANITY_PUBLISH_AT[:16].replace('T', ' ')} UTC)",
        sanity_table(sanity),
    ]
    if blanks:
        text += ["### A blank field is not evidence (DESIGN.md §3.3 rule 9; goal: at most 2×)",
                 "The same draft with each optional input filled in with a typical value and left blank:",
                 blank_table(blanks)]  # fmt: skip
    text += ["## What it does not know", UNKNOWNS]
    if ablations:
        text += ["## Ablations (same split; each row adds feature groups)", ablation_table(ablations)]
    text += [task_section(task, man, met) for task, (man, met) in sections.items()]
    path = directory / "MODEL_CARD.md"
    path.write_text("\n\n".join(text) + "\n", encoding="utf-8")
    return path


def card_section(card: str, heading: str) -> str | None:
    """The body of the first ``## heading`` section of a Markdown model card (the web page and MCP quote it)."""
    match = re.search(rf"(?ms)^## {re.escape(heading)}\s*$\n(.*?)(?=^## |\Z)", card)
    return match.group(1).strip() if match else None
