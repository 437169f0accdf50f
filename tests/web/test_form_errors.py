"""Form errors are shown inside the page the user was on: the form kept as typed, every problem beside its field,
and the header still showing who is logged in."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_score_lists_every_field_problem_beside_its_field_and_keeps_the_form(web: TestClient) -> None:
    token = sign_up(web)
    form = {
        "title": "My sourdough diary",
        "duration_s": "long",
        "subscribers": "lots",
        "alt_hour": ["25", "9"],
        "alt_title": "A second title",
        "csrf_token": token,
    }
    page = web.post("/score", data=form)
    assert page.status_code == 422
    text = page.text
    assert "Error 422" not in text and "<h1>Score a draft</h1>" in text
    assert "'long' is not a duration" in field_error(text, "duration_s")
    assert "'lots' is not a number" in field_error(text, "subscribers")
    assert "hours run from 0 to 23" in field_error(text, "alt_hour")
    assert re.search(r'name="alt_hour" maxlength="20" value="25"', text)
    assert field_error(text, "title") == ""
    assert "3 things to fix" in text and 'href="#subscribers"' in text
    assert "Channel subscribers: &#39;lots&#39; is not a number" in text  # the summary names the field by its label
    assert 'id="duration_s" name="duration_s"' in text and 'value="long"' in text
    assert 'value="My sourdough diary"' in text and 'name="alt_title" maxlength="300" value="A second title"' in text
    assert 'aria-invalid="true" aria-describedby="subscribers-error"' in text
    assert "baker@example.com" in text and "Log out" in text and ">Log in</a>" not in text
    # The JSON twin keeps the API's envelope, with every field in the details.
    twin = web.post("/score.json", data=form)
    assert twin.status_code == 422 and twin.json()["ok"] is False
    assert {d["field"] for d in twin.json()["error"]["details"]["fields"]} == {"duration_s", "subscribers", "alt_hour"}


def test_an_htmx_post_with_problems_replaces_the_main_part_with_the_form_again(web: TestClient) -> None:
    token = csrf(web)
    page = web.post(
        "/score", data={"title": "x", "duration_s": "long", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert page.status_code == 422
    assert page.headers["HX-Retarget"] == "#main" and page.headers["HX-Reselect"] == "#main"
    assert "'long' is not a duration" in field_error(page.text, "duration_s") and 'value="long"' in page.text


def test_validation_errors_of_fastapi_are_listed_per_field(web: TestClient) -> None:
    token = csrf(web)
    page = web.post("/score", data={"title": "t" * 301, "duration_s": "9" * 30, "csrf_token": token})
    assert page.status_code == 422 and "<h1>Score a draft</h1>" in page.text
    assert "at most 20 characters" in field_error(page.text, "duration_s")
    long_title = web.post("/score", data={"title": "t" * 301, "csrf_token": token})  # in the words of the API, CLI
    assert "is 301 characters; a title is at most 300 characters" in field_error(long_title.text, "title")


def test_track_keys_ideas_explore_and_login_show_problems_in_their_own_page(web: TestClient) -> None:
    token = sign_up(web)
    track = web.post("/track", data={"url": "https://example.com/video", "csrf_token": token})
    assert track.status_code == 422 and "<h1>Track your videos</h1>" in track.text
    message = field_error(track.text, "url")
    assert message.startswith("Video URL: not a YouTube video URL or id") and "body.url" not in track.text
    assert 'value="https://example.com/video"' in track.text and "Log out" in track.text

    keys = web.post("/keys", data={"name": "k" * 101, "csrf_token": token})
    assert keys.status_code == 422 and "<h1>API keys</h1>" in keys.text
    assert "at most 100 characters" in field_error(keys.text, "name")
    gone = web.post("/keys/999/revoke", data={"csrf_token": token})
    assert gone.status_code == 404 and "<h1>API keys</h1>" in gone.text and "Log out" in gone.text

    sized = web.post("/ideas", data={"topic": "bread", "subscribers": "12q", "csrf_token": token})
    assert sized.status_code == 422 and "'12q' is not a number" in field_error(sized.text, "subscribers")
    assert 'value="12q"' in sized.text and 'value="bread"' in sized.text  # the form comes back as typed
    ideas = web.post("/ideas", data={"topic": "bread\x00", "vibe": "cosy", "n": "8", "csrf_token": token})
    assert ideas.status_code == 422 and "What should I make next?" in ideas.text
    assert field_error(ideas.text, "topic") and 'value="bread"' in ideas.text and 'value="cosy"' in ideas.text
    assert '<option value="8" selected>' in ideas.text
    long = web.post("/ideas", data={"topic": "pasta " * 40, "csrf_token": token})  # past the box's maxlength
    assert (
        field_error(long.text, "topic") == "Topic: is 240 characters long; at most 200"
    )  # was "items after validation"

    explore = web.get("/explore", params={"topic": "bread\x00"})
    assert (
        explore.status_code == 422 and "<h1>Explore a niche</h1>" in explore.text and field_error(explore.text, "topic")
    )

    web.post("/logout", data={"csrf_token": token})
    login = web.post("/login", data={"email": "a" * 600, "password": "x", "csrf_token": csrf(web)})
    assert login.status_code == 422 and "<h1>Log in</h1>" in login.text and field_error(login.text, "email")
    assert 'type="password" autocomplete="current-password" required value' not in login.text


def test_an_empty_required_field_is_named_in_words(web: TestClient) -> None:
    """A browser that does not check `required` (or a script) got "Field required" at the top of the form, which
    said nothing of which field."""
    token = sign_up(web)
    score = web.post("/score", data={"title": "", "duration_s": "9" * 30, "csrf_token": token})
    assert score.status_code == 422 and "Field required" not in score.text
    assert field_error(score.text, "title") == "Title: is empty: type the title you plan to post"  # as the API, CLI
    assert field_error(score.text, "duration_s") == "Duration: string should have at most 20 characters"
    twin = web.post("/score.json", data={"title": "", "csrf_token": token})  # it said "body.title: Field required"
    assert twin.status_code == 422 and "Field required" not in twin.text
    assert twin.json()["error"]["message"] == "invalid request: body.title: is empty: type the title you plan to post"
    summary = re.search(r'<div class="error-box problems".*?</div>', score.text, re.S)
    assert summary and 'href="#title">Title: is empty: type the title you plan to post</a>' in summary.group(0)
    track = web.post("/track", data={"csrf_token": token})
    assert field_error(track.text, "url") == "Video URL: required"
    assert "Topic: contains a control character" in field_error(
        web.post("/ideas", data={"topic": "bread\x00", "csrf_token": token}).text, "topic"
    )  # pydantic's "Value error, " prefix is dropped
    web.post("/logout", data={"csrf_token": token})
    login = web.post("/login", data={"email": "", "password": "", "csrf_token": csrf(web)})
    assert field_error(login.text, "email") == "E-mail: required"
    assert field_error(login.text, "password") == "Password: required"


def test_a_plain_error_page_shows_the_signed_in_header(web: TestClient) -> None:
    sign_up(web)
    missing = web.get("/no-such-page")
    assert missing.status_code == 404 and "baker@example.com" in missing.text and ">Log in</a>" not in missing.text


def test_a_new_key_is_created_once_and_shown_once_after_the_redirect(web: TestClient) -> None:
    token = sign_up(web)
    created = web.post("/keys", data={"name": "laptop", "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/keys"
    shown = web.get("/keys")
    key = re.search(r'id="new-key">(miles_[^<]+)<', shown.text)
    assert key and "New key “laptop”" in shown.text
    assert key.group(1)[6:] not in created.headers["set-cookie"]  # the key travels encrypted, never readable
    reload = web.get("/keys")  # a reload shows no key and creates none
    assert "new-key" not in reload.text and key.group(1) not in reload.text
    assert [k["name"] for k in web.get("/keys.json").json()["keys"]] == ["laptop"]
    with TestClient(web.app) as other:
        assert other.get("/api/v1/history", headers={"Authorization": f"Bearer {key.group(1)}"}).status_code == 200


def test_revoking_a_key_and_stopping_tracking_ask_first(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/keys", data={"name": "laptop", "csrf_token": token})
    key_id = web.get("/keys.json").json()["keys"][0]["id"]
    assert f'href="/keys/{key_id}/revoke"' in web.get("/keys").text  # a link to the confirmation, not a post
    bare = web.post(f"/keys/{key_id}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == f"/keys/{key_id}/revoke"
    assert web.get("/keys.json").json()["keys"][0]["active"] is True
    ask = web.get(f"/keys/{key_id}/revoke")
    assert ask.status_code == 200 and "Revoke key “laptop”?" in html.unescape(ask.text)
    assert 'name="confirm" value="yes"' in ask.text and "<script" not in ask.text.split("<main")[1]
    done = web.post(f"/keys/{key_id}/revoke", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 200 and "is revoked" in done.text
    assert web.get("/keys.json").json()["keys"][0]["active"] is False
    assert "is revoked" not in web.get("/keys").text

    web.post("/track", data={"url": "https://www.youtube.com/shorts/sourdough20", "csrf_token": token})
    tracked_id = web.get("/track.json").json()["items"][0]["id"]
    bare = web.post(f"/track/{tracked_id}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert bare.status_code == 303 and web.get("/track.json").json()["total"] == 1
    ask = web.get(f"/track/{tracked_id}/delete")
    assert "Stop tracking “" in html.unescape(ask.text) and "views already recorded stay" in ask.text
    stopped = web.post(f"/track/{tracked_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert "Tracking stopped" in stopped.text and web.get("/track.json").json()["total"] == 0
    assert web.get("/track/99999/delete").status_code == 404


def test_history_rows_open_the_full_stored_result_for_their_owner_only(web: TestClient) -> None:
    token = sign_up(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    scored = web.post("/score.json", data={**form, "alt_title": "Why is my sourdough so dense?"}).json()["result"]
    pid = scored["prediction_id"]
    assert f'href="/history/{pid}"' in web.get("/history").text
    twin = web.get(f"/history/{pid}.json").json()["prediction"]
    assert twin["inputs"]["title"] == "Sourdough in 60 seconds" and twin["inputs"]["channel_subscribers"] == 2000
    assert twin["outputs"]["prediction"] == scored["prediction"] and twin["outputs"]["variants"] == scored["variants"]
    page = web.get(f"/history/{pid}")
    shown = html.unescape(page.text)
    assert page.status_code == 200 and "What was scored" in shown and "What if…" in shown
    alike = web.get(f"/history/{pid}.json").json()["variants_alike"]
    assert ("What if… ranked" in shown) != alike and ("Every version gets the same forecast" in shown) == alike
    p50 = scored["prediction"]["horizons"][0]["p50"]
    assert 'class="chart" data-figure=' in page.text and scored["prediction"]["model_version"] in shown
    assert f"#{pid}" in shown and p50 > 0

    web.post("/logout", data={"csrf_token": token})
    sign_up(web, "other@example.com")
    assert web.get(f"/history/{pid}.json").status_code == 404
    assert web.get(f"/history/{pid}").status_code == 404
    web.post("/logout", data={"csrf_token": csrf(web)})
    assert web.get(f"/history/{pid}", follow_redirects=False).headers["location"] == f"/login?next=%2Fhistory%2F{pid}"


def test_a_history_row_links_the_draft_to_its_published_video(web: TestClient) -> None:
    token = sign_up(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    pid = web.post("/score.json", data=form).json()["result"]["prediction_id"]
    page = web.get(f"/history/{pid}")
    assert f'action="/history/{pid}/link"' in page.text and "Published it?" in page.text
    bad = web.post(f"/history/{pid}/link", data={"video": "not a video", "csrf_token": token})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "not a YouTube video URL" in bad.text
    assert 'value="not a video"' in bad.text  # kept as typed
    tiktok = web.post(f"/history/{pid}/link", data={"video": "https://www.tiktok.com/@b/video/7300000000000000001",
                                                    "csrf_token": token})  # fmt: skip
    assert (
        tiktok.status_code == 422 and 'id="video-error"' in tiktok.text and "scored as a youtube draft" in tiktok.text
    )
    assert web.post(f"/history/{pid}/link", data={"video": "dRaFtVid0_1"}).status_code == 403  # no CSRF token
    linked = web.post(f"/history/{pid}/link", data={"video": "https://www.youtube.com/shorts/dRaFtVid0_1",
                                                    "csrf_token": token})  # fmt: skip
    assert linked.status_code == 200 and "Linked to video <strong>dRaFtVid0_1</strong>" in linked.text
    assert "No horizon graded yet" in linked.text
    twin = web.get(f"/history/{pid}.json").json()
    assert twin["prediction"]["video_id"] == "dRaFtVid0_1" and twin["grades"] == []
    assert [t["video_id"] for t in web.get("/track.json").json()["items"]] == ["dRaFtVid0_1"]
    # a draft scored once the video was already out says so where its forecast is checked
    item = web.get("/track.json").json()["items"][0]
    out = datetime.now(UTC) - timedelta(hours=48)
    views = {"views": "900", "read_at": (out + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"), "csrf_token": token,
             "title": "Sourdough in 60 seconds", "published_at": out.strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    assert web.post(f"/track/{item['id']}/views", data=views, follow_redirects=False).status_code == 303
    late = web.get("/track.json").json()["items"][0]["linked_scored_after_h"]
    assert late == pytest.approx(48.0, abs=0.1) and "after the video went out" in web.get("/track").text

    web.post("/logout", data={"csrf_token": token})
    other = sign_up(web, "other@example.com")
    assert web.post(f"/history/{pid}/link", data={"video": "dRaFtVid0_1", "csrf_token": other}).status_code == 404


def test_a_bug_on_a_page_is_a_500_whatever_its_own_status() -> None:
    """A MilesError raised as a bug kept its own status on pages (a 400 page), while the API answers 500."""
    from miles.errors import MilesError
    from miles.serve.pages.errors import _message

    assert _message(MilesError("the predictor returned no horizons", expected=False, status=400)) == (
        500, "internal error; the server log has the details"
    )  # fmt: skip
    assert _message(MilesError("title: empty", status=422)) == (422, "title: empty")


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_bad_query_parameter_is_named_with_what_it_takes_not_as_a_form(web: TestClient, signed_in: bool) -> None:
    """/track?offset=abc answered "One thing to fix — your form is kept as you typed it" above the Track form (and,
    signed out, "invalid form: Offset: ..."): no form had been sent. The address's parameter is named, with what it
    takes."""
    if signed_in:
        sign_up(web)
    page = web.get("/track", params={"offset": "abc"})
    text = html.unescape(page.text)
    assert page.status_code == 422
    assert "offset in the address: 'abc' is not a whole number (it takes a whole number from 0 to 10,000,000: items " \
        "to skip)" in text  # fmt: skip
    assert "your form is kept" not in text and "invalid form" not in text and 'action="/track"' not in text
    below = html.unescape(web.get("/track", params={"offset": "-1"}).text)
    assert "offset in the address: input should be greater than or equal to 0 (it takes a whole number" in below
