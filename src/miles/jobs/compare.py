"""Champion vs challenger: two model artifacts on the same rows (``miles model compare`` and the retrain job).

Uses the evaluation harness (``miles.model.evaluate``): the same rows, the same bootstrap by channel, and the
difference B - A per metric with its paired interval. On the database the rows are the ones *neither* model trained
or validated on; a file (``--data``) is test data for both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from miles.errors import InvalidInput, ModelNotReady
from miles.features.schema import TASKS, Task
from miles.model.artifact import Artifact, load_artifact
from miles.model.encoders import EmbeddingCache
from miles.model.evaluate import compare_artifacts, dataset_for, unseen_rows
from miles.model.predict import BUNDLE


def task_artifact(directory: Path, task: Task, *, cache: EmbeddingCache | None = None) -> Artifact:
    """The ``task`` artifact of a model directory (one artifact, or a bundle with one folder per task); ``cache`` keeps
    the title embeddings its evaluation computes (the store's table in a retrain)."""
    if task not in TASKS:
        raise InvalidInput(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if (directory / BUNDLE).is_file():
        directory = directory / task
    if not (directory / "manifest.json").is_file():
        raise ModelNotReady(f"{directory}: no {task} model artifact here")
    artifact = load_artifact(directory)
    if artifact.task != task:
        raise InvalidInput(f"{directory} is a {artifact.task} model, not {task}")
    if hasattr(artifact.model, "embedding_cache"):
        artifact.model.embedding_cache = cache
    return artifact


def version_of(directory: Path) -> str:
    for name in (BUNDLE, "manifest.json"):
        if (directory / name).is_file():
            data = json.loads((directory / name).read_text(encoding="utf-8"))
            return str(data.get("version") or (data.get("extra") or {}).get("version") or directory.name)
    return directory.name


def compare_models(
    a_dir: Path,
    b_dir: Path,
    frame: pd.DataFrame,
    *,
    task: Task = "prepublish",
    from_file: bool,
    n_boot: int = 200,
    cache: EmbeddingCache | None = None,
) -> dict[str, Any]:
    """Both models' reports on the same rows and B - A per metric; ``worse`` lists headline metrics where B is worse
    beyond the interval of the difference. ``cache`` keeps title embeddings between calls (a retrain compares the
    champion once per task and per thumbnail candidate)."""
    a, b = task_artifact(a_dir, task, cache=cache), task_artifact(b_dir, task, cache=cache)
    data_a = dataset_for(a, frame, test_file=from_file)
    data_b = dataset_for(b, frame, test_file=from_file)
    if not from_file:
        keep = unseen_rows(a, data_a)
        data_a = data_a.take(keep)
        data_b = data_b.take(unseen_rows(b, data_b))
    names = (f"A: {version_of(a_dir)}", f"B: {version_of(b_dir)}")
    if names[0] == names[1]:
        names = (f"A: {a_dir}", f"B: {b_dir}")
    result = compare_artifacts(a, b, data_a, data_b, n_boot=n_boot, names=names)
    return {"task": task, "rows": "file" if from_file else "unseen by both", "a": str(a_dir), "b": str(b_dir),
            **result}  # fmt: skip
