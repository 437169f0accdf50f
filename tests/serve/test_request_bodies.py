"""A body that is not JSON (or not UTF-8, nested too deeply, a broken multipart form) is a 422 on ``body`` that says
why and where - not FastAPI's "JSON decode error" at ``body[<offset>]`` or a bare 400 "There was an error parsing
the body" (undocumented in the OpenAPI). And the request's transaction is committed before its response is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from tests.serve.conftest import ApiUser
from tests.serve.test_uvicorn import free_port

API = "/api/v1"
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"title": "x",', "the request body is not valid JSON: Expecting property name enclosed in double quotes "
         "at line 1, column 15"),
        (b'{"title": "x"\n  "duration_s": 30}', "the request body is not valid JSON: Expecting ',' delimiter at "
         "line 2, column 3"),
        (b'{"title": "caf\xe9"}', "the request body is not valid JSON: it is not UTF-8 text (byte 0xe9 at offset 14)"),
        (b"[" * 100_000 + b"]" * 100_000, "the request body is not valid JSON: arrays or objects nested too deeply"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_says_why_and_where(client: TestClient, body: bytes, message: str) -> None:
    for path in ("/predict", "/predict/batch", "/ideas", "/tracked"):
        r = client.post(API + path, content=body, headers=JSON)
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid_input" and error["message"] == message
        assert error["details"][0]["field"] == "body"


def test_a_json_body_without_its_content_type_says_so(client: TestClient) -> None:
    """`curl -d '{...}'` sends a form's Content-Type: the body was refused as "Input should be a valid dictionary or
    object to extract fields from"."""
    for headers, sent in (({"content-type": "application/x-www-form-urlencoded"}, "it came as "
                           "'application/x-www-form-urlencoded'"), ({}, "it came with no Content-Type")):  # fmt: skip
        r = client.post(API + "/predict", content=b'{"title": "x"}', headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"] == (
            f"the request body must be a JSON object sent with Content-Type: application/json ({sent})"
        )
    listed = client.post(API + "/predict", content=b'["x"]', headers=JSON)  # JSON, but no object: pydantic's words
    assert listed.status_code == 422 and "Content-Type" not in listed.json()["error"]["message"]


def test_nan_and_infinity_are_not_numbers(client: TestClient) -> None:
    """Python's JSON reader takes NaN and Infinity; they were read as numbers and refused with a misleading bound."""
    for body, field in (
        (b'{"title": "x", "duration_s": NaN}', "body.duration_s"),
        (b'{"title": "x", "early_views": [{"age_h": NaN, "views": 10}]}', "body.early_views[0].age_h"),
        (b'{"topic": "rice", "n": Infinity}', "body.n"),
    ):
        r = client.post(API + ("/ideas" if b"topic" in body else "/predict"), content=body, headers=JSON)
        assert r.status_code == 422, r.text
        said = "'nan' is not a finite number" if b"NaN" in body else "Input should be a finite number"
        assert r.json()["error"]["message"] == f"invalid request: {field}: {said}"


def test_a_time_that_is_no_date_says_so_in_words(client: TestClient) -> None:
    """ "tomorrow 5pm" got pydantic's "invalid character in year"."""
    for typed, said in (
        ("tomorrow 5pm", "'tomorrow 5pm' is not a date and time (try 2026-03-01T17:00:00Z)"),
        ("2026-13-01", "'2026-13-01' is not a date and time (month must be in 1..12; try 2026-03-01T17:00:00Z)"),
    ):
        r = client.post(API + "/predict", json={"title": "x", "publish_at": typed})
        assert r.status_code == 422 and r.json()["error"]["message"] == f"invalid request: body.publish_at: {said}"


def test_a_misspelt_field_names_the_right_one(client: TestClient) -> None:
    """`subscribers` (as the pages label it) got "Extra inputs are not permitted" and no word of the right name."""
    r = client.post(API + "/ideas", json={"topic": "rice", "subscribers": "12k"})
    assert r.status_code == 422
    said = "invalid request: body.subscribers: not a field of this request (did you mean 'channel_subscribers'?)"
    assert r.json()["error"]["message"] == said
    other = client.post(API + "/predict", json={"title": "x", "colour": "red"})
    assert other.json()["error"]["details"][0]["message"] == "not a field of this request (/docs lists its fields)"


def test_a_broken_multipart_form_is_422(client: TestClient) -> None:
    headers = {"content-type": "multipart/form-data; boundary=abc"}
    r = client.post(API + "/predict/upload", content=b"--abc\r\nTrue--abc--\r\n", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("the request body could not be read: ")


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_transaction_is_committed_before_the_response_is_sent(
    served: str, user_factory: Callable[[str], ApiUser]
) -> None:
    """FastAPI ends a yield dependency after sending by default: a client was told 201 before the commit, so its
    next request could miss the row (schemathesis found linking two drafts to one video back to back a 500 on
    PostgreSQL: the second insert met the first's uncommitted row). A slow commit shows the order."""
    alice = user_factory("alice@example.com")
    committed: list[float] = []

    def slow_commit(_session: Session) -> None:
        time.sleep(0.5)
        committed.append(time.monotonic())

    event.listen(Session, "after_commit", slow_commit)
    try:
        r = httpx.post(f"{served}{API}/tracked", json={"url": "dQw4w9WgXcQ"}, headers=alice.headers, timeout=30)
        answered = time.monotonic()
        time.sleep(1.0)  # a commit after the response would land now
    finally:
        event.remove(Session, "after_commit", slow_commit)
    assert r.status_code == 201, r.text
    assert committed and max(committed) <= answered


def test_a_field_error_names_its_field_and_says_what_is_wrong(
    client: TestClient, user_factory: Callable[[str], ApiUser]
) -> None:
    """`details` is one shape for a 422: a list of problems, each with its field and message (a URL the tracker
    cannot take came as `[{"field": "body.url"}]`, a bad thumbnail as `{"field": ...}`)."""
    user = user_factory("details@example.com")
    vimeo = client.post(API + "/tracked", json={"url": "https://vimeo.com/1"}, headers=user.headers)
    assert vimeo.status_code == 422, vimeo.text
    (problem,) = vimeo.json()["error"]["details"]
    assert problem["field"] == "body.url" and problem["message"].startswith("not a YouTube video URL or id")
    from miles.serve.errors import field_details

    one = field_details("body.thumbnail_base64: not valid base64", {"field": "body.thumbnail_base64"})
    assert one == [{"field": "body.thumbnail_base64", "message": "not valid base64"}]
    limits = {"rows": 21000, "max_rows_per_request": 2000}  # details that name no field stay as they are
    assert field_details("too many rows", limits) == limits


def test_a_query_parameter_the_route_does_not_take_is_named(client: TestClient) -> None:
    """`/videos?lmit=3` answered 20 items, as if no limit had been asked for."""
    typo = client.get(API + "/videos", params={"lmit": 3})
    assert typo.status_code == 422, typo.text
    assert typo.json()["error"]["message"] == "query.lmit: not a parameter of this route (did you mean 'limit'?)"
    assert client.get(API + "/videos", params={"limit": 3}).status_code == 200  # declared ones still work
    word = client.get(API + "/videos", params={"limit": "abc"})  # pydantic said "Input should be a valid integer..."
    assert word.json()["error"]["message"] == "invalid request: query.limit: 'abc' is not a whole number"
    assert client.get(API + "/health", params={"x": 1}).json()["error"]["details"][0]["message"] == (
        "not a parameter of this route (it takes none)"
    )
