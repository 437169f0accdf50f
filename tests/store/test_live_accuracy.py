"""Live accuracy is aggregated by the database (grouped SQL), on both databases: the figures match the grades."""

from __future__ import annotations

import math
from datetime import timedelta

from miles.config import Settings
from miles.store.db import session_scope
from miles.store.repos.grades import add_grades, live_accuracy
from miles.store.tables import PredictionRecord, utcnow

# (video, horizon, subscribers, error_log10, inside): band edges on purpose (999 / 1,000 / 999,999 / 1M / unknown)
GRADES = [
    ("a", 6.0, 999, 0.2, True),
    ("a", 24.0, 999, -0.4, False),
    ("b", 6.0, 1_000, 0.1, True),
    ("c", 6.0, 999_999, -0.3, True),
    ("d", 24.0, 1_000_000, 0.5, False),
    ("e", 24.0, None, 0.0, True),
]


def _store(settings: Settings, version: str, rows: list[tuple[str, float, int | None, float, bool]]) -> None:
    with session_scope(settings) as s:
        for v, h, subs, e, inside in rows:  # one stored prediction per grade (a prediction grades once per horizon)
            record = PredictionRecord(model_version=version, inputs_hash="x", inputs={}, outputs={}, video_id=v)
            s.add(record)
            s.flush()
            add_grades(session=s, grades=[
                {"prediction_id": record.id, "model_version": version, "video_id": v, "horizon_h": h, "age_h": h,
                 "actual_views": 100, "p10": 10.0, "p50": 100.0, "p90": 1000.0, "error_log10": e, "inside": inside,
                 "channel_subscribers": subs}
            ])  # fmt: skip


def test_live_accuracy_groups_by_horizon_band_and_version(db_settings: Settings) -> None:
    _store(db_settings, "m1", GRADES)
    _store(db_settings, "m0", [("z", 6.0, 50, 1.0, False)])  # another version: only in by_version
    with session_scope(db_settings) as s:
        live = live_accuracy(session=s, model_version="m1", since=utcnow() - timedelta(days=30))
        later = live_accuracy(session=s, model_version="m1", since=utcnow() + timedelta(days=1))
    errors = [e for *_, e, _ in GRADES]
    assert (live["videos"], live["grades"]) == (5, 6)
    assert math.isclose(live["mae_log10"], sum(map(abs, errors)) / 6, abs_tol=1e-4)
    assert math.isclose(live["bias_log10"], sum(errors) / 6, abs_tol=1e-4)
    assert math.isclose(live["coverage_p10_p90"], 4 / 6, abs_tol=1e-4)
    assert [(r["horizon_h"], r["videos"], r["grades"]) for r in live["by_horizon"]] == [(6.0, 3, 3), (24.0, 3, 3)]
    assert [(r["band"], r["grades"]) for r in live["by_channel_size"]] == [
        ("< 1k", 2), ("1k–10k", 1), ("100k–1M", 1), ("≥ 1M", 1), ("unknown", 1)
    ]  # fmt: skip
    assert [(r["model_version"], r["grades"], r["mae_log10"]) for r in live["by_version"]] == [
        ("m0", 1, 1.0), ("m1", 6, round(sum(map(abs, errors)) / 6, 4))
    ]  # fmt: skip
    assert (later["grades"], later["mae_log10"], later["by_horizon"], later["by_version"]) == (0, None, [], [])
