"""Fixtures for the API tests: an app on a real database, users with keys, and the real packaged model.

The model is the default one shipped in ``miles/assets/models/default``, loaded once per test session
(``real_predictor``) with a session-wide cache directory, so the ONNX text encoder is exported once per
pytest process. Tests that use it carry ``ENCODERS`` (``pytest.mark.xdist_group("encoders")``): under
``pytest -n 2 --dist loadgroup`` they all run on one worker, so the export happens once per run.
The model is retrained from time to time: tests assert properties of its answers, never exact numbers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from tests.conftest import make_settings

from miles.config import Settings
from miles.model.predict import Predictor, load_default_predictor
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.repos import users

ENCODERS = pytest.mark.xdist_group("encoders")
"""Mark for every test that needs the real model or the built ONNX encoders (see module docstring)."""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that loads the model without the ``ENCODERS`` mark would export the encoders on another worker."""
    needs = {"real_predictor", "encoder_cache_dir", "predictor_client"} & set(getattr(item, "fixturenames", ()))
    if needs and item.get_closest_marker("xdist_group") is None:
        pytest.fail(f"{item.nodeid} uses {sorted(needs)}: mark it with tests.serve.conftest.ENCODERS")


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


def no_model(settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` serving from an empty model directory: every model route answers 503 model_not_ready."""
    empty = tmp_path / "no-model"
    empty.mkdir(exist_ok=True)
    return settings.model_copy(update={"model_dir": empty})


def serving(app: FastAPI, predictor: Predictor) -> FastAPI:
    """The app serving ``predictor`` (already loaded) through its PredictorHolder, as if it had loaded it."""
    app.state.predictor.set(predictor, predictor.directory)
    return app


@pytest.fixture(scope="session")
def encoder_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``cache_dir`` for the whole session: the ONNX encoders are exported into it once."""
    return tmp_path_factory.mktemp("encoder-cache")


@pytest.fixture(scope="session")
def real_predictor(tmp_path_factory: pytest.TempPathFactory, encoder_cache_dir: Path) -> Predictor:
    """The packaged default model, warmed up: one real prediction builds and loads the text encoder."""
    settings = make_settings(tmp_path_factory.mktemp("predictor"), cache_dir=encoder_cache_dir)
    predictor = load_default_predictor(settings)
    [warm] = predictor.predict([{"title": "Warm-up: how I cook rice in 30 seconds", "duration_s": 30}])
    assert warm.horizons, "the packaged model answered without horizons"
    return predictor


@pytest.fixture
def app(db_settings: Settings, tmp_path: Path) -> FastAPI:
    """The app on a migrated, empty database (SQLite and PostgreSQL), with no model (an empty model_dir)."""
    return create_app(no_model(db_settings, tmp_path))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def predictor_client(db_settings: Settings, real_predictor: Predictor) -> Iterator[TestClient]:
    """The app on a migrated, empty database serving the packaged default model."""
    with TestClient(serving(create_app(db_settings), real_predictor)) as c:
        yield c


@pytest.fixture
def user_factory(db_settings: Settings) -> Callable[[str], ApiUser]:
    return lambda email: make_user(db_settings, email)
