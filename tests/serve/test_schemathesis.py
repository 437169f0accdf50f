"""Property-based run over the OpenAPI schema: no operation may answer with a server error (5xx).

Bounded: 20 generated requests per operation, derandomised so CI runs are repeatable.
uses_formula_predictor: the predict routes are served by the test double so that they are exercised
beyond the 503 that a missing model gives.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tests.conftest import make_settings
from tests.serve.conftest import FormulaPredictor, make_user, with_predictor

from miles.serve.app import create_app

MAX_EXAMPLES = 20


def test_no_operation_answers_with_a_server_error(tmp_path: Path, sqlite_template: Path) -> None:
    cfg = make_settings(tmp_path, rate_limit_per_minute=1_000_000)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(sqlite_template, cfg.data_dir / "miles.db")
    app = with_predictor(create_app(cfg), FormulaPredictor())
    headers = make_user(cfg, "fuzz@example.com").headers
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **headers}
            case.call_and_validate(checks=[not_a_server_error])

        run()
