"""`miles worker`: the APScheduler set-up from the schedule list, and a worker that keeps going when a job fails."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from miles.config import Settings
from miles.jobs import schedule as schedule_mod
from miles.jobs.schedule import SCHEDULE, PeriodicJob
from miles.jobs.worker import build_scheduler, run_once


def test_scheduler_has_every_job_once_with_no_overlap(sqlite_settings: Settings) -> None:
    scheduler = build_scheduler(sqlite_settings)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {j.name for j in SCHEDULE}
    assert jobs["collect_niches"].trigger.interval == timedelta(hours=6)
    assert jobs["poll_tracking"].trigger.interval == timedelta(minutes=5)
    assert all(j.max_instances == 1 and j.coalesce for j in jobs.values())


def test_a_failing_job_is_recorded_and_the_worker_goes_on(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_settings: Settings, _beat: object) -> dict[str, object]:
        raise RuntimeError("disk on fire")

    broken = PeriodicJob("broken", timedelta(minutes=1), boom, "always fails")
    monkeypatch.setattr(schedule_mod, "SCHEDULE", (broken, *SCHEDULE))
    results = run_once(sqlite_settings, names=["broken", "score_new"])
    assert results["broken"] == {"job": "broken", "status": "failed", "error": "RuntimeError: disk on fire"}
    assert results["score_new"]["status"] == "ok" and results["score_new"]["scored"] == 0  # nothing collected


def test_blocking_scheduler_runs_jobs_in_process(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = threading.Event()

    def quick(_settings: Settings, _beat: object) -> dict[str, object]:
        ran.set()
        return {"status": "ok"}

    monkeypatch.setattr(schedule_mod, "SCHEDULE", (PeriodicJob("quick", timedelta(hours=1), quick, "q"),))
    scheduler = build_scheduler(sqlite_settings, names=["quick"])
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        assert ran.wait(timeout=30)
    finally:
        while not scheduler.running and thread.is_alive():
            time.sleep(0.05)
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)


def test_only_a_running_worker_counts_as_one(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-off `miles track run` left a run that made pages say a worker would collect the user's niche for 10
    minutes, and nothing did; now the scheduler's jobs mark the worker present, and a stopping worker says so."""
    from miles.jobs import tasks
    from miles.serve.services.collections import worker_running

    def quick(_settings: Settings, _beat: object) -> dict[str, object]:
        return {"status": "ok"}

    monkeypatch.setattr(schedule_mod, "SCHEDULE", (PeriodicJob("quick", timedelta(hours=1), quick, "q"),))
    run_once(sqlite_settings, names=["quick"])  # `miles worker --once`, `miles track run`: one-off
    assert worker_running(sqlite_settings) is False
    scheduler = build_scheduler(sqlite_settings, names=["quick"])
    job = scheduler.get_job("quick")
    assert job.func(*job.args)["status"] == "ok"  # what the scheduler calls on each interval
    assert worker_running(sqlite_settings) is True
    tasks.forget_worker(sqlite_settings)  # run_forever's way out
    assert worker_running(sqlite_settings) is False
