"""The web forms answer hostile input with a clear 422 inside the page, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import csrf


@pytest.mark.parametrize(
    ("publish_at", "words"),
    [
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("1990-01-01T10:00", "before 2005"),
        ("2999-01-01T10:00", "more than one year ahead"),
    ],
)
def test_score_form_bounds_the_publish_time(web: TestClient, publish_at: str, words: str) -> None:
    token = csrf(web)
    response = web.post(
        "/score",
        data={"title": "Bread", "publish_at": publish_at, "alt_hour": "9", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and words in response.text and "Planned publish time: " in response.text


def test_score_form_refuses_control_characters(web: TestClient) -> None:
    token = csrf(web)
    response = web.post("/score", data={"title": "Bread\x00", "csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "control character" in response.text


def test_text_forms_and_explore_refuse_a_nul(web: TestClient) -> None:
    token = csrf(web)
    for path, data in (
        ("/ideas", {"topic": "bread\x00"}),
        ("/login", {"email": "a\x00@example.com", "password": "a-long-password"}),
        ("/signup", {"email": "b\x00@example.com", "password": "a-long-password", "confirm": "a-long-password"}),
    ):
        response = web.post(path, data={**data, "csrf_token": token}, headers={"HX-Request": "true"})
        assert response.status_code == 422, (path, response.status_code)
    assert web.get("/explore", params={"topic": "bread\x00"}).status_code == 422


def test_an_unsupported_method_on_any_page_is_a_405_page_not_a_500(web: TestClient) -> None:
    """HEAD (uptime checks), PUT, DELETE, PATCH on a page - form pages included - answer 405 with Allow, in HTML
    (before: 500, the form page's error handler expected a form error)."""
    from miles.serve.pages.forms import FORM_PAGES

    pages = {path for path in FORM_PAGES if "{" not in path} | {"/", "/explore", "/history", "/password", "/quality"}
    assert {"/login", "/signup", "/score", "/password", "/keys", "/ideas"} <= pages
    web.app.state.rate_limiter.capacity = 1e9  # many requests; the rate limit is not what this checks
    for path in sorted(pages):
        for method in ("HEAD", "PUT", "DELETE", "PATCH"):
            response = web.request(method, path)
            assert response.status_code == 405, (method, path, response.status_code)
            assert "GET" in response.headers["allow"], (method, path)
            if method != "HEAD":
                assert "text/html" in response.headers["content-type"] and "Method Not Allowed" in response.text


@pytest.mark.parametrize(
    ("alt_title", "words"),
    [("\x00", "control character"), ("a\x00b", "control character"), ("x" * 400, "at most 300 characters")],
)
def test_score_form_refuses_a_bad_alternative_title_beside_its_field(
    web: TestClient, alt_title: str, words: str
) -> None:
    """Before: 500 (the variant was validated outside the form's error list)."""
    token = csrf(web)
    data = {"title": "Bread", "alt_title": ["Good other title", alt_title], "csrf_token": token}
    response = web.post("/score", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422, response.text[:300]
    assert "alternative title 2: " in response.text and words in response.text
