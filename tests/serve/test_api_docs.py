"""The API's schema as /docs shows it (the API key is declared, so Swagger UI's Authorize button can send it), and
docs/api.md's error table against the codes the API answers with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from miles.errors import MilesError
from miles.serve.errors import HTTP_CODES, INTERNAL_ERROR, install_error_handlers

API = "/api/v1"


def test_the_schema_declares_the_api_key_as_optional_bearer_auth(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["API key"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"  # no scheme: no Authorize button, no "Try it out"
    assert "/keys" in scheme["description"] and "/keys" in schema["info"]["description"]  # not only the CLI
    for path in (f"{API}/predict", f"{API}/history", f"{API}/tracked"):
        for method, operation in schema["paths"][path].items():
            # optional: anonymous scoring (MILES_ALLOW_ANONYMOUS) and a browser's login cookie work without it
            # either header, as MCP over HTTP takes it: Authorization: Bearer <key> or X-API-Key: <key>
            assert operation["security"] == [{}, {"API key": []}, {"API key header": []}], (method, path)
    header = schema["components"]["securitySchemes"]["API key header"]
    assert header == {**header, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert client.get("/openapi.json").json() == schema  # built once: the key stays optional, not [{}, {}, ...]


def test_a_malformed_authorization_header_still_gets_the_one_error_envelope(client: TestClient) -> None:
    answer = client.get(f"{API}/history", headers={"Authorization": "Token abc"})
    assert answer.status_code == 401 and answer.json()["ok"] is False
    assert "Bearer" in answer.json()["error"]["message"]


DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
NOT_API_CODES = {
    "error": "MilesError itself: every error the API raises is one of its subclasses",
    "forbidden": "the web pages' CSRF check only",
    "config_error": "settings are checked when `miles serve` starts, never during a request",
    "leakage": "never expected: a bug, answered as internal_error",
}


def _error_table() -> dict[str, set[int]]:
    """docs/api.md §4's table: each code with the statuses it is given for."""
    section = DOCS.read_text(encoding="utf-8").split("## 4. Errors", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[int]] = {}
    for status, codes in re.findall(r"^\| (\d{3}) \| ([^|]+) \|", section, flags=re.MULTILINE):
        for code in re.findall(r"`([a-z_]+)`", codes):
            table.setdefault(code, set()).add(int(status))
    return table


def _subclasses(cls: type[MilesError]) -> Iterator[type[MilesError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_the_error_table_lists_every_code_the_api_answers_with() -> None:
    """405 `method_not_allowed` was answered but missing from the table. Every code the errors raised and the HTTP
    errors mapped can carry is in the table (with its status), and the table has no code the API no longer uses."""
    raised = {cls.code: cls.default_status for cls in [MilesError, *_subclasses(MilesError)]}
    answered = {code: {status} for code, status in raised.items() if code not in NOT_API_CODES}
    for status, code in HTTP_CODES.items():
        answered.setdefault(code, set()).add(status)
    answered["internal_error"] = {500}
    table = _error_table()
    assert set(table) == set(answered)
    for code, statuses in answered.items():
        assert statuses <= table[code], (code, statuses, table[code])


def test_a_wrong_method_and_a_bug_answer_with_their_documented_codes(client: TestClient) -> None:
    wrong = client.delete(f"{API}/predict")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"] == {
        "code": "method_not_allowed",
        "message": "DELETE is not allowed on /api/v1/predict; it takes POST",
        "details": None,
    }
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bug")
    def bug() -> None:  # a MilesError that is not expected is a bug (it answered 400 with the code "error")
        raise MilesError("the predictor returned no horizons", expected=False)

    with TestClient(app) as bare:
        answer = bare.get("/bug")
    assert answer.status_code == 500
    assert answer.json()["error"] == {"code": "internal_error", "message": INTERNAL_ERROR, "details": None}
