"""`miles evaluate` and `miles baseline fit`: honest numbers for any model artifact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from miles.cli.state import STATE
from miles.collect.files import FORMATS, read_file
from miles.errors import InvalidInput
from miles.features.build import Dataset, build_dataset
from miles.features.load import frame_from_db
from miles.features.schema import TASKS, Task
from miles.features.splits import assign_folds
from miles.inputs import format_percent
from miles.model.artifact import Artifact, load_artifact, write_json
from miles.model.baselines import BASELINES, DEFAULT_KIND, fit_baseline_artifact
from miles.model.evaluate import (
    CLASSIFICATION,
    REGRESSION,
    TI_LABELS,
    EvalReport,
    dataset_for,
    evaluate_artifact,
    plot_reliability,
)

console = Console()
err = Console(stderr=True)
baseline_app = typer.Typer(help="Fit the simple baselines every model is compared with.", no_args_is_help=True)
LABELS = {
    "spearman": "Spearman",
    "r2": "R²",
    "mae_log10": "MAE log10",
    "auroc": "AUROC",
    "pr_auc": "PR-AUC",
    "precision_at_k": "P@k",
    "ece": "ECE",
}


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_cmd)
    baseline_app.command("fit")(baseline_fit_cmd)
    app.add_typer(baseline_app, name="baseline")


def _task(value: str | None) -> Task | None:
    if value is not None and value not in TASKS:
        raise InvalidInput(f"--task must be one of {', '.join(TASKS)}, not {value!r}")
    return value  # type: ignore[return-value]


def _artifact_dir(model: Path, task: str | None) -> Path:
    """``model``, or for a bundle (the default model: bundle.json, one directory per task) its task's artifact."""
    if not (model / "manifest.json").is_file() and (model / "bundle.json").is_file():
        return model / (_task(task) or "prepublish")
    return model


def _load_frame(data: Path | None, fmt: str, models: Sequence[Path] = ()) -> tuple[pd.DataFrame, str]:
    """The file's rows, or the stored rows as training and the retrain see them: thumbnail statistics, and the image
    embedding when one of ``models`` reads it, joined (a thumbnail model scored without them would be judged blind)."""
    if data is None:
        from miles.jobs.train import frame_for_models

        with err.status("reading snapshots from the database"):
            return frame_for_models(STATE.settings, list(models)), "database"
    result = read_file(data, fmt)
    if result.rejected:
        err.print(
            f"[yellow]skipped {len(result.rejected):,} invalid rows[/yellow] (first: {result.rejected[0]})",
            highlight=False,
        )
    if result.frame.empty:
        raise InvalidInput(f"{data}: no usable snapshot rows")
    return result.frame, str(data)


def _dataset(task: Task, frame: pd.DataFrame, *, test_file: bool) -> Dataset:
    with err.status(f"building {task} features for {len(frame):,} snapshots"):
        return build_dataset(task, frame, mode="test-file" if test_file else "all")


def _eval_dataset(artifact: Artifact, frame: pd.DataFrame, *, test_file: bool) -> Dataset:
    with err.status(f"building {artifact.task} features for {len(frame):,} snapshots"):
        return dataset_for(artifact, frame, test_file=test_file)


def evaluate_cmd(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Model artifact directory (has manifest.json) or a bundle (--task picks one); or a version from "
            "`miles model list`, 'served' or 'default', as `miles model compare` takes them.",
        ),
    ],
    task: Annotated[str | None, typer.Option("--task", help="prepublish or early (default: the model's).")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Snapshot file to use entirely as test data (CSV/Parquet/JSONL).")
    ] = None,
    db: Annotated[bool, typer.Option("--db", help="Use the database and the model's own split (default).")] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"File format for --data: {', '.join(FORMATS)}.")] = "auto",
    n_boot: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples (by channel).")] = 200,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write metrics JSON and the reliability PNG "
            "(default: MILES_DATA_DIR/evaluations/<model version>).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    history: Annotated[
        str,
        typer.Option(
            "--history",
            help="With --data: 'db' builds channel-history features from the stored snapshots as of each video's "
            "publish time (how a channel Miles tracks is scored); 'none' uses only the file.",
        ),
    ] = "none",
    loso: Annotated[
        bool,
        typer.Option(
            "--loso/--no-loso",
            help="With --db: also the leave-one-source-out headline (retrains the model's configuration without "
            "each source and tests on it; a few minutes).",
        ),
    ] = True,
) -> None:
    """Every metric for the model and its baselines on the same rows, with 95 % intervals by channel."""
    if data is not None and db:
        raise InvalidInput("use either --data FILE or --db, not both")
    from miles.recommend.scoring import resolve_model

    model_dir = _artifact_dir(resolve_model(model, settings=STATE.settings), task)
    artifact = load_artifact(model_dir)
    wanted = _task(task) or artifact.task
    if wanted != artifact.task:
        raise InvalidInput(f"{model_dir} is a {artifact.task} model; it cannot be evaluated on the {wanted} task")
    if history not in ("none", "db"):
        raise InvalidInput(f"--history must be none or db, not {history!r}")
    frame, source = _load_frame(data, fmt, [model_dir])
    if history == "db" and data is not None:
        dataset = _with_store_history(artifact, frame)
    else:
        dataset = _eval_dataset(artifact, frame, test_file=data is not None)
    parts = _test_parts(dataset, artifact.split, from_file=data is not None)
    reports = []
    with err.status("predicting and bootstrapping"):
        for fold, part in parts.items():
            if len(part) == 0:
                err.print(f"[yellow]no rows in the {fold} fold; skipped[/yellow]")
                continue
            reports.append(evaluate_artifact(artifact, part, fold=fold, n_boot=n_boot))
    if not reports:
        raise InvalidInput("nothing to evaluate: every test fold is empty")
    out_dir = out or evaluation_dir(STATE.settings.data_dir, artifact.manifest, model_dir)
    payload = _payload(artifact.manifest, source, reports)
    if loso and data is None and (table := _loso(artifact, dataset, n_boot, frame)) is not None:
        payload["leave_one_source_out"] = table
    stem = f"{wanted}-{'file' if data is not None else 'db'}"
    write_json(out_dir / f"metrics-{stem}.json", payload)
    plots = [plot_reliability(r, out_dir / reliability_name(stem, r.fold)) for r in reports]
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    for report in reports:
        _print_report(report)
    if payload.get("leave_one_source_out"):
        print_loso(payload["leave_one_source_out"])
    console.print(f"wrote {out_dir / f'metrics-{stem}.json'} and {', '.join(str(p) for p in plots)}", highlight=False)


def reliability_name(stem: str, fold: str) -> str:
    """The reliability plot of one fold: ``reliability-prepublish-db-warm_test.png``; a file is one fold, the file
    itself, named once: ``reliability-early-file.png`` (it was "reliability-early-file-file.png")."""
    return f"reliability-{stem}.png" if stem.endswith(f"-{fold}") else f"reliability-{stem}-{fold}.png"


def evaluation_dir(data_dir: Path, manifest: dict[str, Any], model: Path) -> Path:
    """``<data_dir>/evaluations/<model version>``: evaluation output never goes into the model's own directory,
    which may be the installed package's assets (the packaged default model) or a promoted artifact."""
    version = str(manifest.get("extra", {}).get("version") or model.resolve().name)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in version).strip(".") or "model"
    return data_dir / "evaluations" / f"{manifest.get('task', 'model')}-{name}"


def _with_store_history(artifact: Artifact, frame: pd.DataFrame) -> Dataset:
    """The file's videos as test rows, with the store's snapshots of other videos as their channels' history.

    Features only ever read snapshots captured by each example's as_of time and uploads published strictly before
    it (the guarded FeatureContext), so the stored data adds history, never the answer.
    """
    with err.status("reading channel history from the database"):
        stored = frame_from_db(STATE.settings)
    wanted = set(frame["video_id"].astype(str))
    history = stored.loc[~stored["video_id"].astype(str).isin(wanted)]
    combined = pd.concat([frame, history], ignore_index=True)
    dataset = _eval_dataset(artifact, combined, test_file=True)
    return dataset.take(dataset.meta["video_id"].astype(str).isin(wanted).to_numpy())


def _loso(artifact: Artifact, dataset: Dataset, n_boot: int, frame: pd.DataFrame) -> dict[str, Any] | None:
    """Leave-one-source-out for a trained (LightGBM) artifact; None, with a note, for a baseline artifact."""
    from dataclasses import replace

    from miles.model.train import config_from_manifest, leave_one_source_out, yardstick_rows

    if not (artifact.manifest.get("extra") or {}).get("train_config") or artifact.split is None:
        err.print("[yellow]leave-one-source-out skipped: this artifact records no training configuration[/yellow]")
        return None
    cfg = replace(config_from_manifest(artifact.manifest), n_boot=n_boot)
    folds = assign_folds(dataset.meta, artifact.split)
    with err.status("leave-one-source-out: retraining without each source"):
        return leave_one_source_out(dataset, folds, cfg, yardstick=yardstick_rows(frame, cfg, artifact.split))


def print_loso(loso: dict[str, Any]) -> None:
    """The leave-one-source-out headline: per held-out source, model and baselines fitted on the other sources."""
    keys = ("spearman", "mae_log10", "auroc", "ece")
    for source, report in loso.items():
        if "skipped" in report:
            console.print(f"[yellow]leave-one-source-out {source}: skipped ({report['skipped']})[/yellow]")
            continue
        rows = {name: {k: _Iv(v) for k, v in ms.items()} for name, ms in report["metrics"].items()}
        title = (f"leave-one-source-out · test on {source} ({report['rows']:,} rows, {report['groups']:,} channels), "
                 f"trained on {', '.join(report['trained_on'])}")  # fmt: skip
        console.print(_table(title, rows, keys, LABELS))
        if (coverage := report.get("coverage_p10_p90")) is not None:
            held = format_percent(coverage)
            console.print(f"the model's p10-p90 interval held the real views for {held} of rows (80 % exact)")
        if report.get("mrse_by_t_i"):
            ti = {name: {k: _Iv(v) for k, v in ms.items()} for name, ms in report["mrse_by_t_i"].items()}
            counts = ", ".join(f"{k}: {v:,}" for k, v in report["t_i_counts"].items())
            console.print(_table(f"mRSE by t_i on {source} (rows {counts})", ti, ("all", *TI_LABELS), {}))


class _Iv:
    """An interval read back from a report's JSON (value, lo, hi; None for not computable)."""

    def __init__(self, raw: dict[str, float | None]) -> None:
        nan = float("nan")
        self.value, self.lo, self.hi = (nan if raw.get(k) is None else float(raw[k]) for k in ("value", "lo", "hi"))  # type: ignore[arg-type]


def _test_parts(dataset: Dataset, split: Any, *, from_file: bool) -> dict[str, Dataset]:
    if from_file:
        return {"file": dataset}
    if split is None:
        raise InvalidInput("this model records no split; evaluate it on a file with --data FILE")
    folds = assign_folds(dataset.meta, split)
    return {"test": dataset.take(folds["test"]), "warm_test": dataset.take(folds["warm_test"])}


def _payload(manifest: dict[str, Any], source: str, reports: list[EvalReport]) -> dict[str, Any]:
    return {
        "model": {k: manifest.get(k) for k in ("kind", "task", "feature_version", "created_at")},
        "data": source,
        "reports": [r.as_dict() for r in reports],
    }


def _num(value: float, digits: int) -> str:
    return f"{value:.{max(digits - 1, 1)}e}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _fmt(iv: Any) -> str:
    if iv is None or iv.value != iv.value:
        return "-"
    if iv.lo != iv.lo:
        return _num(iv.value, 3)
    return f"{_num(iv.value, 3)}\n[{_num(iv.lo, 2)}, {_num(iv.hi, 2)}]"


def _table(title: str, rows: dict[str, dict[str, Any]], keys: tuple[str, ...], labels: dict[str, str]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("model")
    for key in keys:
        table.add_column(labels.get(key, key), justify="right")
    for name, values in rows.items():
        table.add_row(name, *(_fmt(values.get(k)) for k in keys))
    return table


def _print_report(report: EvalReport) -> None:
    console.print(
        f"[bold]{report.task} · {report.fold}[/bold]: {report.rows:,} rows, {report.videos:,} videos, "
        f"{report.groups:,} channels; viral rate {report.viral_rate:.3f}; P@k with k = {report.k:,}; "
        "95 % intervals from resampling channels",
        highlight=False,
    )
    console.print(_table("log views", report.metrics, REGRESSION, LABELS))
    console.print(_table("viral", report.metrics, CLASSIFICATION, LABELS))
    if report.mrse_by_ti:
        counts = ", ".join(f"{k}: {v:,}" for k, v in report.ti_counts.items())
        console.print(_table(f"mRSE by indicator age t_i (rows {counts})", report.mrse_by_ti, ("all", *TI_LABELS), {}))


def baseline_fit_cmd(
    task: Annotated[str, typer.Option("--task", help="prepublish or early.")],
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write.")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Baseline to fit as the model: age, channel_size_age, category, szabo_huberman or pinto "
            "(default: channel_size_age for prepublish, szabo_huberman for early).",
        ),
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Snapshot file to train on (default: the database).")
    ] = None,
    db: Annotated[bool, typer.Option("--db", help="Train on the database (default).")] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"File format for --data: {', '.join(FORMATS)}.")] = "auto",
) -> None:
    """Fit a baseline (plus all others for the task) on the headline training fold into an artifact."""
    if data is not None and db:
        raise InvalidInput("use either --data FILE or --db, not both")
    the_task = _task(task)
    assert the_task is not None
    chosen = kind or DEFAULT_KIND[the_task]
    if chosen not in BASELINES[the_task]:
        raise InvalidInput(
            f"--kind {chosen!r} does not apply to {the_task}; choose one of {', '.join(BASELINES[the_task])}"
        )
    frame, _source = _load_frame(data, fmt)
    dataset = _dataset(the_task, frame, test_file=False)
    with err.status(f"fitting {chosen} and the other {the_task} baselines"):
        fit_baseline_artifact(chosen, dataset, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = manifest["training"]["fold_rows"]
    console.print(
        f"wrote {chosen} ({the_task}) to {out}: trained on {rows['train']:,} rows; "
        f"test {rows['test']:,}, warm test {rows['warm_test']:,}. Next: miles evaluate --model {out}",
        highlight=False,
    )
