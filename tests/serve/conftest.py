"""Fixtures for the API tests: an app on a real database, users with keys, and a formula predictor.

TEST DOUBLE — swap for the real model: ``FormulaPredictor`` stands in for ``miles.model.predict.Predictor``
(another engineer's area, not ready when these tests were written). It implements the same ``predict(rows)``
protocol with a simple deterministic formula so the routes can be tested end to end. Once the packaged default
model exists, the lead should point ``predictor_app`` at it (``MILES_MODEL_DIR``) and keep the assertions that
do not depend on the formula. Tests that use it are marked ``uses_formula_predictor`` in their docstring.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from miles.config import Settings
from miles.serve.app import create_app
from miles.serve.deps import get_predictor
from miles.serve.services.model import PredictorLike
from miles.store.db import session_scope
from miles.store.repos import users

HORIZONS_H = (1.0, 24.0, 168.0)


class FormulaPredictor:
    """TEST DOUBLE (see module docstring): views grow with subscribers, age, title length and early views."""

    version = "formula-test-1"

    def __init__(self) -> None:
        self.calls: list[list[Mapping[str, Any]]] = []

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append(list(rows))
        return [self._one(row) for row in rows]

    def _one(self, row: Mapping[str, Any]) -> dict[str, Any]:
        subs = float(row.get("channel_subscribers") or 100)
        title_bonus = min(len(row["title"]), 60) / 60.0
        duration = float(row.get("duration_s") or 30.0)
        early = max((e["views"] for e in row["early_views"]), default=0)
        horizons = []
        for h in HORIZONS_H:
            p50 = max(early, subs * 0.05 * math.log1p(h) * (1 + title_bonus) * (60.0 / max(duration, 10.0)) ** 0.2)
            horizons.append({"horizon_h": h, "p10": p50 / 3, "p50": p50, "p90": p50 * 3})
        used = [k for k in ("title", "duration_s", "channel_subscribers", "thumbnail") if row.get(k)]
        if row["early_views"]:
            used.append("early_views")
        return {
            "horizons": horizons,
            "viral_probability": 1 / (1 + math.exp(-title_bonus)),
            "inputs_used": used,
            "contributions": {"title_length": title_bonus, "log_subscribers": math.log10(subs), "duration_s": -0.1},
        }


@dataclass
class ApiUser:
    user_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_user(settings: Settings, email: str) -> ApiUser:
    with session_scope(settings) as session:
        user = users.create_user(session=session, email=email, password="a-long-password")
        _row, key = users.create_api_key(session=session, user_id=user.id, name="test")
        return ApiUser(user.id, key)


def png_bytes(size: tuple[int, int] = (64, 36), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def with_predictor(app: FastAPI, predictor: PredictorLike) -> FastAPI:
    """Serve ``predictor`` through the PredictorDep dependency (FastAPI dependency_overrides)."""
    app.dependency_overrides[get_predictor] = lambda: lambda: predictor
    app.state.predictor.set(predictor)
    return app


@pytest.fixture
def app(db_settings: Settings) -> FastAPI:
    """The app on a migrated, empty database (SQLite and PostgreSQL), with no model."""
    return create_app(db_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def predictor() -> FormulaPredictor:
    return FormulaPredictor()


@pytest.fixture
def predictor_client(app: FastAPI, predictor: FormulaPredictor) -> Iterator[TestClient]:
    """uses_formula_predictor: the app serving the FormulaPredictor test double."""
    with TestClient(with_predictor(app, predictor)) as c:
        yield c


@pytest.fixture
def user_factory(db_settings: Settings) -> Callable[[str], ApiUser]:
    return lambda email: make_user(db_settings, email)
