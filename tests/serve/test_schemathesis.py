"""Property-based run over the whole OpenAPI schema, with and without an API key, on SQLite and PostgreSQL: no
operation may answer with a server error (5xx) or a status its documentation does not list.

Bounded: ``MAX_EXAMPLES`` generated requests per operation and generation mode, derandomised so CI runs are
repeatable. Both of schemathesis' modes run: positive (requests the schema allows) and negative (requests it does
not: wrong types, missing fields, bodies that are not JSON or not UTF-8). Operations with ids in their path run a
third time with the ids of rows that exist (the caller's own prediction, tracked video and queued collection, a
stored video), so the fuzz reaches past "not found"; the test then checks that every operation answered something
other than a validation error at least once. The app serves the packaged model, warmed up by ``real_predictor``,
and its ``cache_dir`` is the session's, so ``/ideas`` finds the built encoder too.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance
from tests.serve.conftest import ENCODERS, make_user, serving

from miles.config import Settings
from miles.model.predict import Predictor
from miles.serve.app import create_app

MAX_EXAMPLES = 12
DRAFT = {"title": "How I cook rice in 30 seconds", "duration_s": 30}
GOOD_BODIES = {"POST /api/v1/predict/upload": ({"draft": json.dumps(DRAFT)}, "multipart/form-data")}
"""Bodies the schema cannot describe (a JSON draft inside a form field): one valid one is sent too."""


def _existing_ids(app: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Rows the fuzzed path ids can point at: a stored video, and (with a key) the caller's own rows."""
    with TestClient(app) as client:
        ids: dict[str, Any] = {"video_id": "dQw4w9WgXcQ"}
        if not headers:
            return ids
        ids["prediction_id"] = client.post("/api/v1/predict", json=DRAFT, headers=headers).json()["prediction_id"]
        ids["tracked_id"] = client.post("/api/v1/tracked", json={"url": "dQw4w9WgXcQ"}, headers=headers).json()["id"]
        ideas = client.post("/api/v1/ideas", json={"topic": "rice", "n": 1}, headers=headers).json()
        ids["run_id"] = ideas["freshness"]["refresh_run_id"]
    return ids


@ENCODERS
@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "anonymous"])
def test_no_operation_answers_with_a_server_error_or_an_undocumented_status(
    db_settings: Settings, encoder_cache_dir: object, real_predictor: Predictor, keyed: bool
) -> None:
    cfg = db_settings.model_copy(update={"rate_limit_per_minute": 1_000_000, "cache_dir": encoder_cache_dir})
    cfg = cfg.model_copy(update={"max_queued_collections": 1_000_000})
    app = serving(create_app(cfg), real_predictor)
    headers = make_user(cfg, "fuzz@example.com").headers if keyed else {}
    ids = _existing_ids(app, headers)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    assert any(op.path == "/api/v1/ideas" and op.method.upper() == "POST" for op in operations)

    failures: list[str] = []
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        runs: list[tuple[GenerationMode, dict[str, Any]]] = [(mode, {}) for mode in GenerationMode]
        if names and all(n in ids for n in names):
            runs.append((GenerationMode.POSITIVE, {"path_parameters": {n: ids[n] for n in names}}))
        if operation.label in GOOD_BODIES:
            body, media_type = GOOD_BODIES[operation.label]
            runs.append((GenerationMode.POSITIVE, {"body": body, "media_type": media_type}))
        seen = statuses[operation.label]
        for mode, fixed in runs:
            strategy = operation.as_strategy(generation_mode=mode, **fixed)

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
            )
            def run(case: schemathesis.Case) -> None:
                case.headers = {**(case.headers or {}), **headers}
                response = case.call()
                seen[response.status_code] += 1  # noqa: B023 - run() is called within this iteration
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

            try:
                run()
            except Unsatisfiable:  # an operation without inputs (GET /health) has no negative request
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # every operation is tried; all failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert set(statuses) == {op.label for op in operations}
    stuck = {label: dict(seen) for label, seen in statuses.items() if set(seen) <= {422}}
    assert not stuck, f"operations that never got past validation: {stuck}"
