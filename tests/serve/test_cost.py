"""Cost limits: a request is counted in scored rows and thumbnail fetches, refused over the limits (413 naming
them), charged to the rate limit by its cost, and its thumbnail fetching ends at one overall deadline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.collect.localsite import LocalSite, Route, png_bytes
from tests.serve.conftest import no_model
from tests.test_net import local_policy

from miles.config import Settings
from miles.errors import InvalidInput
from miles.serve.app import create_app
from miles.serve.services import thumbnails
from miles.serve.services.cost import Cost

API = "/api/v1"


def _batch(drafts: int, variants: int, **extra: object) -> dict[str, object]:
    variant = [{"title": f"Variant {v}"} for v in range(variants)]
    return {"items": [{"title": f"Draft {i}", "variants": variant, **extra} for i in range(drafts)]}


def test_a_request_over_the_row_budget_is_413_naming_the_limit(db_settings: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(no_model(db_settings, tmp_path))) as client:
        # Before: 1,000 drafts x 20 variants (21,000 rows, about a minute of CPU) went through as one token.
        response = client.post(f"{API}/predict/batch", json=_batch(1000, 20))
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert "21,000 rows" in error["message"] and "MILES_MAX_ROWS_PER_REQUEST" in error["message"]
        (problem,) = error["details"]  # a list of problems naming their field, as every error's (was an object)
        assert problem == {"field": "body.items", "message": error["message"].removeprefix("body.items: "),
                           "rows": 21000, "max_rows_per_request": 2000}  # fmt: skip
        one = client.post(f"{API}/predict", json={"title": "t", "variants": [{"title": "v"}] * 20})
        assert one.status_code == 503  # 21 rows: within the budget (and no model here)


def test_too_many_thumbnail_urls_are_413_naming_the_limit(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = no_model(sqlite_settings, tmp_path).model_copy(update={"max_thumbnail_fetches": 3})
    with TestClient(create_app(settings)) as client:
        url = "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"
        response = client.post(f"{API}/predict/batch", json=_batch(4, 0, thumbnail_url=url))
        assert response.status_code == 413
        assert "4 thumbnail URLs" in response.json()["error"]["message"]
        assert "MILES_MAX_THUMBNAIL_FETCHES" in response.json()["error"]["message"]


def test_the_rate_limit_charges_by_cost(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = no_model(sqlite_settings, tmp_path).model_copy(update={"rate_limit_per_minute": 100})
    assert Cost(drafts=1000, rows=2000, fetches=0).tokens == 40
    with TestClient(create_app(settings)) as client:
        big = _batch(1000, 1)  # 2,000 rows: 40 tokens
        responses = [client.post(f"{API}/predict/batch", json=big) for _ in range(3)]
        # Charged, then 503 (no model here); the 3rd finds about 20 of its 40 tokens left.
        assert [r.status_code for r in responses] == [503, 503, 429]
        limited = responses[-1]
        assert int(limited.headers["retry-after"]) >= 5
        assert "costs 40 tokens (2,000 rows, 0 thumbnail fetches)" in limited.json()["error"]["message"]
    with TestClient(create_app(settings)) as fresh:  # small requests are still one token each
        assert {fresh.post(f"{API}/predict", json={"title": "t"}).status_code for _ in range(90)} == {503}


def test_a_request_bigger_than_the_bucket_still_goes_through_when_it_is_full(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    settings = no_model(sqlite_settings, tmp_path).model_copy(update={"rate_limit_per_minute": 10})
    with TestClient(create_app(settings)) as client:
        assert client.post(f"{API}/predict/batch", json=_batch(1000, 1)).status_code == 503  # 40 tokens > 10
        assert client.post(f"{API}/predict", json={"title": "t"}).status_code == 429  # it took the whole bucket


def test_thumbnail_fetching_stops_at_the_request_deadline(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"thumbnail_deadline_s": 1.0})
    with LocalSite().running() as site:
        slow = site.add("/slow.png", Route(body=png_bytes(), content_type="image/png", delay_s=0.6))
        fetch = thumbnails.Fetcher(settings, policy=local_policy(timeout_s=10.0))
        start = time.monotonic()
        assert fetch(base64_text=None, url=slow, where="body.items[0]")  # 0.6 s: within the budget
        with pytest.raises(InvalidInput) as err:
            for i in range(1, 5):
                fetch(base64_text=None, url=slow, where=f"body.items[{i}]")
        elapsed = time.monotonic() - start
    # Before: each URL had its own 10 s timeout and no overall limit (5 slow URLs: 3 s; 1,000: minutes).
    assert elapsed < 1.5, elapsed
    assert err.value.message.startswith("body.items[1].thumbnail_url: not fetched")
    assert "MILES_THUMBNAIL_DEADLINE_S" in err.value.message
