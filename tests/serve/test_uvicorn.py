"""One real server: `miles serve` in a subprocess on 127.0.0.1 and a free port, spoken to over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.serve.conftest import make_user

from miles.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(sqlite_settings: Settings) -> Iterator[tuple[str, Settings]]:
    port = free_port()
    env = {**os.environ, "MILES_DATA_DIR": str(sqlite_settings.data_dir), "MILES_ENV": "test", "HF_HUB_OFFLINE": "1"}
    env.pop("MILES_DATABASE_URL", None)
    miles = Path(sys.executable).with_name("miles")
    proc = subprocess.Popen(
        [str(miles), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"miles serve exited with {proc.returncode}: {out}")
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("miles serve did not answer within 30 s")
        yield base, sqlite_settings
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_real_server_serves_the_api(server: tuple[str, Settings]) -> None:
    base, settings = server
    with httpx.Client(base_url=base, timeout=10) as http:
        health = http.get("/api/v1/health").json()
        assert health["ok"] is True and health["database"]["revision"] == "0003"
        assert http.get("/docs").status_code == 200
        assert "/api/v1/predict" in http.get("/openapi.json").json()["paths"]
        user = make_user(settings, "alice@example.com")
        tracked = http.post("/api/v1/tracked", json={"url": "dQw4w9WgXcQ"}, headers=user.headers)
        assert tracked.status_code == 201
        assert http.get("/api/v1/tracked", headers=user.headers).json()["total"] == 1
        missing = http.get("/api/v1/videos/none")
        assert missing.status_code == 404 and missing.json()["ok"] is False
        no_model = http.post("/api/v1/predict", json={"title": "t"})
        assert no_model.status_code == 503 and no_model.json()["error"]["code"] == "model_not_ready"
