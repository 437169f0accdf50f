"""The served model: found, loaded once on first use, and described for `/health` and `/model`.

Where the model comes from, in order: ``MILES_MODEL_DIR``; the promoted row of ``model_versions``;
the default model packaged under ``miles/assets/models/default``. ``miles.model.predict`` loads it;
a missing or broken model makes every model route answer 503 with the reason.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import MilesError, ModelNotReady
from miles.recommend.scoring import PredictorLike, served_model_dir

__all__ = ["ModelStatus", "PredictorHolder", "PredictorLike"]


@dataclass(frozen=True)
class ModelStatus:
    state: str  # "loaded", "not_loaded" or "unavailable"
    version: str | None
    origin: str | None  # where the served model comes from (``model_origin``), not its path on the server
    message: str | None


def packaged_default_dir() -> Path:
    from miles.model.predict import packaged_default_dir as model_default_dir

    return model_default_dir()


def model_origin(settings: Settings, path: Path | None) -> str | None:
    """Where the served model comes from, in words a caller can act on; its directory on the server stays private."""
    if path is None:
        return None
    if settings.model_dir is not None and Path(settings.model_dir) == path:
        return "MILES_MODEL_DIR"
    return "packaged default" if path == packaged_default_dir() else "promoted (miles model promote)"


def load_predictor(settings: Settings, session: Session | None) -> tuple[PredictorLike, Path]:
    """MILES_MODEL_DIR, else the promoted model, else the packaged default."""
    from miles.model.predict import Predictor

    # No database embedding cache here: the predictor's in-process cache serves repeat titles, and request
    # threads writing embeddings would compete for SQLite's single writer.
    directory = served_model_dir(settings, session)
    return Predictor.load(directory, settings=settings), directory


class PredictorHolder:
    """Loads the predictor lazily, once per process, thread-safely; tests may ``set`` one directly."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._predictor: PredictorLike | None = None
        self._path: Path | None = None
        self._error: str | None = None
        self._lock = threading.Lock()

    def set(self, predictor: PredictorLike, path: Path | None = None) -> None:
        self._predictor, self._path, self._error = predictor, path, None

    def get(self, session: Session | None) -> PredictorLike:
        if self._predictor is not None:
            return self._predictor
        with self._lock:
            if self._predictor is None:
                try:
                    predictor, path = load_predictor(self.settings, session)
                except ModelNotReady as exc:
                    self._error = exc.message
                    raise
                except MilesError as exc:
                    self._error = exc.message
                    raise ModelNotReady(f"the model could not be loaded: {exc.message}") from exc
                self._predictor, self._path = predictor, path
        assert self._predictor is not None
        return self._predictor

    def status(self) -> ModelStatus:
        if self._predictor is not None:
            return ModelStatus("loaded", self._predictor.version, self.origin, None)
        if self._error is not None:
            return ModelStatus("unavailable", None, None, self._error)
        return ModelStatus("not_loaded", None, None, "the model loads on the first prediction")

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def origin(self) -> str | None:
        return model_origin(self.settings, self._path)


def read_artifact(path: Path) -> dict[str, Any]:
    """The manifest, metrics and model card of an artifact directory (whichever of them exist)."""
    out: dict[str, Any] = {"manifest": None, "metrics": None, "model_card": None}
    for key, name in (("manifest", "manifest.json"), ("metrics", "metrics.json")):
        file = path / name
        if file.is_file():
            try:
                out[key] = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelNotReady(f"{file} is unreadable: {exc}") from exc
    bundle = path / "bundle.json"
    if out["manifest"] is None and bundle.is_file():  # a bundle: its own record, then each task's manifest
        try:
            meta = json.loads(bundle.read_text(encoding="utf-8"))
            tasks = {t: json.loads((path / t / "manifest.json").read_text(encoding="utf-8")) for t in meta["tasks"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelNotReady(f"{path}: the bundle's manifests are unreadable: {exc}") from exc
        out["manifest"] = {**meta, "tasks": tasks}
    card = path / "MODEL_CARD.md"
    if card.is_file():
        out["model_card"] = card.read_text(encoding="utf-8")
    return out


LIVE_WINDOW = timedelta(days=30)
LIVE_MIN_VIDEOS = 50  # the Score page quotes live accuracy beside the offline figure from this many graded videos


def live_section(*, session: Session, version: str) -> dict[str, Any]:
    """Live accuracy of ``version``: its stored predictions graded against the views that arrived (30 days)."""
    from miles.store.repos.grades import live_accuracy

    return live_accuracy(session=session, model_version=version, since=utcnow() - LIVE_WINDOW)
