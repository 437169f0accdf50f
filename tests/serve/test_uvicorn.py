"""One real server: `miles serve` in a subprocess on 127.0.0.1 and a free port, spoken to over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.serve.conftest import ENCODERS, make_user

from miles.config import Settings
from miles.model.predict import Predictor
from miles.store import migrate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def miles_serve(settings: Settings, workers: int = 1, **env_extra: str) -> Iterator[str]:
    """`miles serve` (``workers`` processes) on the database of ``settings``; yields its base URL, stops it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MILES_DATABASE_URL", "MILES_MODEL_DIR")}
    env.update(MILES_DATA_DIR=str(settings.data_dir), MILES_CACHE_DIR=str(settings.cache_dir), MILES_ENV="test")
    env.update(HF_HUB_OFFLINE="1", **env_extra)
    miles = Path(sys.executable).with_name("miles")
    proc = subprocess.Popen(
        [str(miles), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300 * workers):
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"miles serve exited with {proc.returncode}: {out}")
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"miles serve did not answer within {30 * workers} s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_real_server_serves_the_api(sqlite_settings: Settings, tmp_path: Path) -> None:
    """Served from an empty model directory: everything but the model works, the model routes say why not."""
    empty = tmp_path / "no-model"
    empty.mkdir()
    with (
        miles_serve(sqlite_settings, MILES_MODEL_DIR=str(empty)) as base,
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        health = http.get("/api/v1/health").json()
        assert health["ok"] is True and health["database"]["revision"] == migrate.head_revision(sqlite_settings)
        assert http.get("/docs").status_code == 200
        assert "/api/v1/predict" in http.get("/openapi.json").json()["paths"]
        user = make_user(sqlite_settings, "alice@example.com")
        tracked = http.post("/api/v1/tracked", json={"url": "dQw4w9WgXcQ"}, headers=user.headers)
        assert tracked.status_code == 201
        assert http.get("/api/v1/tracked", headers=user.headers).json()["total"] == 1
        missing = http.get("/api/v1/videos/none")
        assert missing.status_code == 404 and missing.json()["ok"] is False
        no_model = http.post("/api/v1/predict", json={"title": "t"})
        assert no_model.status_code == 503
        error = no_model.json()["error"]
        assert error["code"] == "model_not_ready" and str(empty) in error["message"], error


@ENCODERS
def test_real_server_predicts_with_the_packaged_model(
    sqlite_settings: Settings, encoder_cache_dir: Path, real_predictor: Predictor
) -> None:
    """No model settings at all: the server finds the packaged default (encoders prebuilt in the session cache)."""
    settings = sqlite_settings.model_copy(update={"cache_dir": encoder_cache_dir})
    with miles_serve(settings) as base, httpx.Client(base_url=base, timeout=60) as http:
        response = http.post("/api/v1/predict", json={"title": "How I cook rice in 30 seconds", "duration_s": 30})
        assert response.status_code == 200, response.text
        pred = response.json()["prediction"]
        assert pred["model_version"] == real_predictor.version and pred["mode"] == "prepublish"
        assert all(h["p10"] <= h["p50"] <= h["p90"] for h in pred["horizons"])
        health = http.get("/api/v1/health").json()["model"]
        assert health["state"] == "loaded" and health["version"] == real_predictor.version
        assert http.get("/api/v1/model").json()["version"] == real_predictor.version
