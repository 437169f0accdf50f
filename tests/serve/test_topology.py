"""The deployment topology as real processes (what compose.yaml runs, without Docker): `miles serve --workers 2`
on PostgreSQL acting as the row-level-security app role with Redis-shared limits, and a Celery worker on Redis
writing to the same database. A prediction, an ideas query and a tracked video go through it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from tests.collect.localsite import LocalSite, Route, video_page
from tests.conftest import make_settings, port_open, skip_or_fail
from tests.jobs.test_celery import BROKER, stop
from tests.serve.conftest import ENCODERS, make_user
from tests.serve.test_uvicorn import miles_serve

from miles.model.predict import Predictor
from miles.store.db import get_engine

pytestmark = [pytest.mark.postgres, ENCODERS]


def _celery(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "celery", "-A", "miles.jobs.celery_app", "worker", "-Q", queue, "--pool", "solo"]
    cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def test_two_app_processes_a_celery_worker_postgres_as_app_role_and_redis(
    pg_schema_url: str, tmp_path: Path, encoder_cache_dir: Path, real_predictor: Predictor
) -> None:
    if not port_open("127.0.0.1", 6379):
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
    settings = make_settings(tmp_path, database_url=pg_schema_url, cache_dir=encoder_cache_dir)
    with get_engine(settings).begin() as conn:
        conn.execute(text("TRUNCATE users, predictions, tracked_videos, queries, job_runs RESTART IDENTITY CASCADE"))
    alice, bob = make_user(settings, "alice@example.com"), make_user(settings, "bob@example.com")
    env = {"MILES_DATABASE_URL": pg_schema_url, "MILES_REDIS_URL": BROKER, "MILES_COLLECT_DELAY_S": "0",
           "MILES_COLLECT_RETRIES": "0", "MILES_BROKER_URL": BROKER, "MILES_ENV": "test",
           "MILES_DATA_DIR": str(settings.data_dir), "MILES_CACHE_DIR": str(encoder_cache_dir)}  # fmt: skip
    queue = f"miles-test-{uuid.uuid4().hex[:8]}"
    worker = _celery(env, queue, tmp_path / "celery.log")
    try:
        with miles_serve(settings, workers=2, **env) as base, httpx.Client(base_url=base, timeout=120) as http:
            draft = {"title": "How I cook rice in 30 seconds", "duration_s": 30}
            predicted = http.post("/api/v1/predict", json=draft, headers=alice.headers)
            assert predicted.status_code == 200, predicted.text
            assert predicted.json()["prediction"]["horizons"]
            history = http.get("/api/v1/history", headers=alice.headers).json()
            assert history["total"] == 1 and http.get("/api/v1/history", headers=bob.headers).json()["total"] == 0
            ideas = http.post("/api/v1/ideas", json={"topic": "rice", "n": 2}, headers=alice.headers)
            assert ideas.status_code == 200, ideas.text
            run_id = ideas.json()["freshness"]["refresh_run_id"]  # an empty store: the niche is queued
            assert http.get(f"/api/v1/collections/{run_id}", headers=alice.headers).json()["status"] == "queued"
            assert http.get(f"/api/v1/collections/{run_id}", headers=bob.headers).status_code == 404
            tracked = http.post("/api/v1/tracked", json={"url": "dQw4w9WgXcQ"}, headers=alice.headers)
            assert tracked.status_code == 201, tracked.text
            assert http.get("/api/v1/tracked", headers=bob.headers).json()["total"] == 0
            assert http.get("/api/v1/queries", headers=alice.headers).json()["total"] == 1
        from miles.jobs import celery_app

        celery_app.configure(settings.model_copy(update={"broker_url": BROKER}))
        with LocalSite().running() as site:
            url = site.add("/v/topology.html", Route(body=video_page(site.base, title="Rice by a worker", views=99)))
            counts = celery_app.collect_task.apply_async(args=[[url]], queue=queue).get(timeout=120)
        assert counts["status"] == "ok" and counts["new"] == 1, counts
        with get_engine(settings).connect() as conn:  # the worker wrote to the same database, as the owner
            assert conn.execute(text("SELECT views FROM video_snapshots WHERE video_id = 'topology'")).scalar() == 99
    finally:
        stop(worker)
