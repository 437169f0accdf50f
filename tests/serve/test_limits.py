"""Rate limits (429 + Retry-After), body and image size limits, and malformed thumbnails."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from PIL import Image
from tests.serve.conftest import ENCODERS, make_user, no_model, png_bytes, serving

from miles.config import Settings
from miles.errors import RateLimited
from miles.model.predict import Predictor
from miles.serve.app import create_app
from miles.serve.limits import RateLimiter

API = "/api/v1"


@pytest.fixture
def limited(sqlite_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """An app with overridden limits and no model (routes that only need the database)."""
    clients: list[TestClient] = []

    def make(**limits: object) -> TestClient:
        client = TestClient(create_app(no_model(sqlite_settings, tmp_path).model_copy(update=limits)))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def limited_model(sqlite_settings: Settings, real_predictor: Predictor) -> Iterator[Callable[..., TestClient]]:
    """An app with overridden limits serving the packaged model (limits on what reaches the model)."""
    clients: list[TestClient] = []

    def make(**limits: object) -> TestClient:
        client = TestClient(serving(create_app(sqlite_settings.model_copy(update=limits)), real_predictor))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def test_token_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(RateLimited) as exc:
        limiter.hit("a")
    assert exc.value.retry_after_s == 30  # one token every 30 s
    limiter.hit("b")  # other callers have their own bucket
    now[0] = 30.0
    limiter.hit("a")


def test_rate_limit_per_ip_gives_429_with_retry_after(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_limit_per_minute=3)
    codes = [client.get(f"{API}/videos").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get(f"{API}/videos")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


def test_rate_limit_is_per_key(limited: Callable[..., TestClient], sqlite_settings: Settings) -> None:
    client = limited(rate_limit_per_minute=2)
    alice, bob = make_user(sqlite_settings, "a@example.com"), make_user(sqlite_settings, "b@example.com")
    assert [client.get(f"{API}/history", headers=alice.headers).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(f"{API}/history", headers=bob.headers).status_code == 200
    assert client.get(f"{API}/videos").status_code == 200  # anonymous traffic from the same IP is separate


def test_failed_key_guesses_are_throttled_by_address(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_limit_per_minute=2)
    codes = [
        client.get(f"{API}/history", headers={"Authorization": f"Bearer miles_guess{i}"}).status_code for i in range(3)
    ]
    assert codes == [401, 401, 429]


@ENCODERS
def test_body_over_the_limit_is_413_by_length_and_by_stream(limited_model: Callable[..., TestClient]) -> None:
    client = limited_model(max_body_bytes=2048)
    big = {"title": "t", "description": "x" * 3000}
    response = client.post(f"{API}/predict", json=big)
    assert response.status_code == 413
    # the envelope every error has: `details` a list of problems naming their field (it was an object), written by
    # the same serializer (the middleware's own json.dumps spaced it as no other answer is)
    problem = {"field": "body", "message": "larger than the limit of 2,048 bytes (MILES_MAX_BODY_BYTES)"}
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "request body is larger than the limit of 2,048 bytes",
        "details": [{**problem, "max_body_bytes": 2048}],
    }
    assert response.content == JSONResponse(response.json()).body
    assert response.headers["content-type"] == "application/json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b'{"title": "t", "description": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    streamed = client.post(f"{API}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.content == response.content
    assert client.post(f"{API}/predict", json={"title": "small"}).status_code == 200
    # a web form (HTMX swaps the answer into the page): words for the creator, not the JSON envelope
    page = client.post("/score", data={"title": "t", "description": "x" * 3000}, headers={"HX-Request": "true"})
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page.text and "larger than the limit of 0.002048 MB" in page.text
    assert client.post("/score.json", data={"title": "t", "description": "x" * 3000}).json()["ok"] is False


@ENCODERS
def test_image_over_the_byte_limit_is_413(limited_model: Callable[..., TestClient]) -> None:
    client = limited_model(max_image_bytes=2048)
    noisy = Image.frombytes("RGB", (64, 64), random.Random(0).randbytes(64 * 64 * 3))
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    assert len(buf.getvalue()) > 2048
    b64 = base64.b64encode(buf.getvalue()).decode()
    response = client.post(f"{API}/predict", json={"title": "t", "thumbnail_base64": b64})
    assert response.status_code == 413 and "thumbnail_base64" in response.json()["error"]["message"]
    (problem,) = response.json()["error"]["details"]  # a list naming the field, as every other error's
    assert problem == {
        "field": "body.thumbnail_base64",
        "message": "the image is larger than the limit of 2,048 bytes (MILES_MAX_IMAGE_BYTES)",
        "max_image_bytes": 2048,
    }
    upload = client.post(
        f"{API}/predict/upload", data={"draft": '{"title": "t"}'}, files={"thumbnail": ("t.png", buf.getvalue())}
    )
    assert upload.status_code == 413


def _truncated_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (200, 200), random.Random(1).randbytes(200 * 200 * 3)).save(buf, format="JPEG")
    data = buf.getvalue()
    return data[: len(data) // 2]  # header intact, scan data cut off


def _pixel_bomb() -> bytes:
    """A tiny PNG that declares 20,000 x 20,000 pixels (400 M > the 20 M limit)."""
    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("not an image", b"%PDF-1.4 definitely not a picture", "not a readable image"),
        ("truncated", _truncated_jpeg(), "truncated"),
        ("pixel bomb", _pixel_bomb(), "pixels"),
        ("empty", b"", "empty"),
    ],
)
@ENCODERS
def test_malformed_thumbnails_are_422_with_the_reason(
    limited_model: Callable[..., TestClient], name: str, payload: bytes, expected: str
) -> None:
    client = limited_model()
    b64 = base64.b64encode(payload).decode()
    response = client.post(f"{API}/predict", json={"title": "t", "thumbnail_base64": b64})
    assert response.status_code == 422, name
    error = response.json()["error"]
    assert error["message"].startswith("body.thumbnail_base64:") and expected in error["message"].lower(), error
    upload = client.post(
        f"{API}/predict/upload", data={"draft": '{"title": "t"}'}, files={"thumbnail": ("t.bin", payload)}
    )
    assert upload.status_code == 422 and upload.json()["error"]["message"].startswith("body.thumbnail:")


@ENCODERS
def test_invalid_base64_and_two_thumbnails_are_422(limited_model: Callable[..., TestClient]) -> None:
    client = limited_model()
    bad = client.post(f"{API}/predict", json={"title": "t", "thumbnail_base64": "@@@not base64@@@"})
    assert bad.status_code == 422 and "not valid base64" in bad.json()["error"]["message"]
    image = base64.b64encode(png_bytes()).decode()
    both = client.post(
        f"{API}/predict", json={"title": "t", "thumbnail_base64": image, "thumbnail_url": "https://i.ytimg.com/x.jpg"}
    )
    assert both.status_code == 422 and "not both" in both.json()["error"]["message"]
