"""Every periodic job and its interval, in one list: ``miles worker`` and Celery beat both read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from miles.config import Settings
from miles.jobs import tasks
from miles.jobs.tasks import JobResult


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: timedelta
    func: Callable[[Settings, Callable[[], None] | None], JobResult]
    description: str
    interval_setting: str | None = None  # a setting in hours that replaces ``interval``

    def every(self, settings: Settings) -> timedelta:
        if self.interval_setting is None:
            return self.interval
        return timedelta(hours=float(getattr(settings, self.interval_setting)))

    def run(self, settings: Settings) -> JobResult:
        """Run once under the job's database lock (skipped when another worker holds it)."""
        return tasks.run_locked(self.name, lambda beat: self.func(settings, beat), settings=settings)


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob("collect_niches", timedelta(hours=6), tasks.collect_niches, "collect every configured niche"),
    PeriodicJob("poll_tracking", timedelta(minutes=5), tasks.poll_tracking, "poll due tracked videos"),
    PeriodicJob("collect_requested", timedelta(minutes=1), tasks.collect_requested, "collect niches users asked about"),
    PeriodicJob("score_new", timedelta(minutes=30), tasks.score_new, "score new videos"),
    PeriodicJob("grade", timedelta(minutes=30), tasks.grade, "grade stored predictions against arrived views"),
    PeriodicJob(
        "retrain",
        timedelta(days=7),
        tasks.retrain,
        "train a challenger; promote it only if not worse",
        interval_setting="retrain_interval_h",
    ),
)


def job_named(name: str) -> PeriodicJob:
    for job in SCHEDULE:
        if job.name == name:
            return job
    from miles.errors import InvalidInput

    raise InvalidInput(f"unknown job {name!r}; choose one of {', '.join(j.name for j in SCHEDULE)}")
