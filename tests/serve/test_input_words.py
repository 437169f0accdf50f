"""The same bad value typed on the Score form, given to `miles predict` and sent to the JSON API reads alike: one
set of words (``miles.inputs``), each surface naming the field as its user knows it (the form's label, the CLI's
option, the API's field location)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import ENCODERS
from tests.serve.test_predict_cli import cli_env  # noqa: F401 - the fixture
from tests.web.conftest import csrf
from typer.testing import CliRunner

from miles.cli.main import app as cli
from miles.config import Settings
from miles.errors import InvalidInput
from miles.serve.app import create_app

API = "/api/v1"
# (API field, form field and its label, CLI option, value as typed, the words every surface says)
CASES = [
    ("duration_s", "duration_s", "Duration", "--duration", "-3",
     "-3 is negative; give the video's length in seconds (e.g. 35 or 0:35)"),
    ("channel_subscribers", "subscribers", "Channel subscribers", "--subscribers", "-3",
     "-3 is negative; give the channel's subscribers, 0 or more (e.g. 1200, 15k or 2万)"),
    ("title", "title", "Title", "--title", "   ", "is empty: type the title you plan to post"),
    ("duration_s", "duration_s", "Duration", "--duration", "500",
     "500 is too long; a YouTube Short is at most 3:00 (180 s)"),
    ("channel_subscribers", "subscribers", "Channel subscribers", "--subscribers", "2000000000",
     "2000000000 is more than 1,000,000,000"),
]  # fmt: skip
DRAFT = {"title": "Sourdough in 90 seconds"}


@pytest.fixture
def web(sqlite_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings)) as client:
        yield client


def _form(web: TestClient, field: str, value: str) -> str:
    page = web.post("/score.json", data={**DRAFT, field: value, "csrf_token": csrf(web)})
    assert page.status_code == 422, page.text
    (problem,) = page.json()["error"]["details"]["fields"]
    assert problem["field"] == field
    return str(problem["message"])


def _api(web: TestClient, field: str, value: object) -> str:
    response = web.post(f"{API}/predict", json={**DRAFT, field: value})
    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == f"body.{field}" and detail["type"] == "invalid_input"
    return str(detail["message"])


@pytest.mark.parametrize(("api", "form", "label", "option", "typed", "words"), CASES)
def test_the_form_and_the_api_say_the_same_words(
    web: TestClient, api: str, form: str, label: str, option: str, typed: str, words: str
) -> None:
    assert _form(web, form, typed).endswith(f": {words}")
    assert _api(web, api, typed) == words  # as text
    if typed.strip().lstrip("-").isdigit():
        assert _api(web, api, int(typed)) == words  # as a JSON number: Miles' words, not pydantic's
    page = web.post("/score", data={**DRAFT, form: typed, "csrf_token": csrf(web)})
    found = re.search(rf'<p class="field-error" id="{form}-error">(.*?)</p>', page.text, re.S)
    assert found and found.group(1).replace("&#39;", "'") == f"{label}: {words}"


@ENCODERS
def test_the_cli_says_the_same_words(cli_env: Settings) -> None:  # noqa: F811 - the fixture
    runner = CliRunner()
    for _api_field, _form_field, _label, option, typed, words in CASES:
        args = ["predict", "--title", "Sourdough in 90 seconds", option, typed]
        with pytest.raises(InvalidInput) as caught:
            runner.invoke(cli, args, catch_exceptions=False)
        assert caught.value.message == f"{option}: {words}"


def test_the_api_schema_says_text_is_accepted_too(web: TestClient) -> None:
    schema = web.get("/openapi.json").json()["components"]["schemas"]["DraftIn"]["properties"]
    for field, examples in (("duration_s", [35, "0:35"]), ("channel_subscribers", [1200, "15k", "2万"])):
        types = {branch.get("type") for branch in schema[field]["anyOf"]}
        assert types == {"number" if field == "duration_s" else "integer", "string", "null"}, schema[field]
        assert set(examples) <= set(schema[field]["examples"]) and "text" in schema[field]["description"]
    accepted = web.post(f"{API}/predict", json={**DRAFT, "duration_s": "0:35", "channel_subscribers": "1.2万"})
    assert accepted.status_code != 422, accepted.text  # 503 here: this app has no model
