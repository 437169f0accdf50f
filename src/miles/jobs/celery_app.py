"""Celery scale-out: the same job functions as ``miles worker``, on workers fed by a broker (``MILES_BROKER_URL``).

    celery -A miles.jobs.celery_app worker -l info     # run jobs (any number of machines)
    celery -A miles.jobs.celery_app beat -l info       # send the periodic jobs (one process)

All workers share one database (PostgreSQL when several machines work); the ``job_locks`` table
still keeps a periodic job from running twice at once.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from miles.config import Settings, get_settings
from miles.jobs import tasks
from miles.jobs.schedule import SCHEDULE, job_named

app = Celery("miles")


def configure(settings: Settings) -> Celery:
    """Point the app at ``settings.broker_url`` (also the result backend) with beat built from ``SCHEDULE``."""
    broker = settings.broker_url or "memory://"
    app.conf.update(
        broker_url=broker,
        result_backend=settings.broker_url or None,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            job.name: {"task": f"miles.{job.name}", "schedule": job.every(settings).total_seconds()} for job in SCHEDULE
        },
    )
    return app


def _periodic(name: str) -> Any:
    def run() -> dict[str, Any]:
        settings = get_settings()
        tasks.mark_worker_alive(settings)  # beat sends a job every minute: the pages know a worker is there
        return job_named(name).run(settings)

    run.__name__ = run.__qualname__ = f"{name}_task"
    return app.task(name=f"miles.{name}")(run)


def _collect(targets: list[str], limit: int | None = None, refresh_known: bool = False) -> dict[str, Any]:
    """Ad-hoc collection of search queries or URLs (what ``miles collect`` does, on a worker)."""
    return tasks.collect_targets(targets, settings=get_settings(), limit=limit, refresh_known=refresh_known)


PERIODIC_TASKS: dict[str, Any] = {job.name: _periodic(job.name) for job in SCHEDULE}
collect_task: Any = app.task(name="miles.collect")(_collect)
configure(get_settings())
