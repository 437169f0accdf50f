"""Property-based run over the whole OpenAPI schema, with and without an API key, on SQLite and PostgreSQL: no
operation may answer with a server error (5xx) or a status its documentation does not list.

Bounded: ``MAX_EXAMPLES`` generated requests per operation, derandomised so CI runs are repeatable. The app serves
the packaged model, warmed up by ``real_predictor`` (the ONNX text encoder built and loaded before the first
request), and its ``cache_dir`` is the session's, so ``/ideas`` finds the built encoder too.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance
from tests.serve.conftest import ENCODERS, make_user, serving

from miles.config import Settings
from miles.model.predict import Predictor
from miles.serve.app import create_app

MAX_EXAMPLES = 12


@ENCODERS
@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "anonymous"])
def test_no_operation_answers_with_a_server_error_or_an_undocumented_status(
    db_settings: Settings, encoder_cache_dir: object, real_predictor: Predictor, keyed: bool
) -> None:
    cfg = db_settings.model_copy(update={"rate_limit_per_minute": 1_000_000, "cache_dir": encoder_cache_dir})
    app = serving(create_app(cfg), real_predictor)
    headers = make_user(cfg, "fuzz@example.com").headers if keyed else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    assert any(op.path == "/api/v1/ideas" and op.method.upper() == "POST" for op in operations)

    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **headers}
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance])

        try:
            run()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
