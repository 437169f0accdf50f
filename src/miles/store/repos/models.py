"""Rows of ``model_versions``: every trained artifact, and which one is promoted (served)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from miles.errors import NotFound
from miles.store.tables import ModelVersion


def register_model(
    *, session: Session, version: str, task: str, path: str, feature_version: str, metrics: dict[str, Any]
) -> ModelVersion:
    """Insert (or refresh) a model version; a re-registered version keeps its promotion state."""
    row = session.get(ModelVersion, version)
    if row is None:
        row = ModelVersion(version=version, task=task, path=path, feature_version=feature_version, metrics=metrics)
        session.add(row)
    else:
        row.task, row.path, row.feature_version, row.metrics = task, path, feature_version, metrics
    session.flush()
    return row


def list_models(*, session: Session, task: str | None = None, limit: int = 50, offset: int = 0) -> list[ModelVersion]:
    stmt = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.version)
    if task is not None:
        stmt = stmt.where(ModelVersion.task == task)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def find_model(*, session: Session, version: str) -> ModelVersion | None:
    return session.get(ModelVersion, version)


def get_model(*, session: Session, version: str) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        raise NotFound(f"no model version {version!r}; see `miles model list`")
    return row


def promote_model(*, session: Session, version: str) -> ModelVersion:
    """Make ``version`` the served model: it alone is promoted afterwards."""
    row = get_model(session=session, version=version)
    session.execute(update(ModelVersion).where(ModelVersion.version != version).values(promoted=False))
    row.promoted = True
    session.flush()
    return row


def clear_promotion(*, session: Session) -> None:
    """Promote no version: the packaged default is served again (unless ``MILES_MODEL_DIR`` is set)."""
    session.execute(update(ModelVersion).values(promoted=False))
    session.flush()


def promoted_model(*, session: Session) -> ModelVersion | None:
    stmt = select(ModelVersion).where(ModelVersion.promoted.is_(True)).order_by(ModelVersion.created_at.desc())
    return session.scalars(stmt.limit(1)).first()
