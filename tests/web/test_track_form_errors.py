"""The Track page's views form with several fields wrong at once: every problem is listed beside its field and in
the summary, the form comes back as typed, nothing is stored, and the browser ends on the Track page itself
(not the form's action URL, which a reload posted again)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from tests.web.conftest import sign_up

LOCAL = "%Y-%m-%dT%H:%M"


def _tracked(web: TestClient) -> tuple[str, int]:
    """A signed-up creator's token and their tracked video Miles has not read (it needs a title and publish time)."""
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/AAAAAAAAAAA", "csrf_token": token})
    return token, web.get("/track.json").json()["items"][0]["id"]


def _summary(page: str) -> list[str]:
    box = re.search(r'<div class="error-box problems".*?</div>', page, re.S)
    items = re.findall(r"<li>(.*?)</li>", box.group(0)) if box else []
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


def _field_error(page: str, field: str, tracked_id: int) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-{tracked_id}-error">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_every_problem_of_the_views_form_is_shown_at_once_and_nothing_is_stored(web: TestClient) -> None:
    """A views count that is not a number, a publish time in the future and a read time before it: the page said
    only that the views were not a number, and the next try found the next problem."""
    token, tid = _tracked(web)
    now = datetime.now(UTC)
    form = {
        "views": "lots",
        "read_at": (now - timedelta(days=1)).strftime(LOCAL),
        "title": "My sourdough starter after 30 days",
        "published_at": (now + timedelta(days=2)).strftime(LOCAL),
        "subscribers": "2k",
        "tracked_id": str(tid),
        "csrf_token": token,
    }
    page = web.post(f"/track/{tid}/views", data=form).text
    assert "3 things to fix" in page, _summary(page)
    links = re.findall(r'<li><a href="#([\w-]+)">', page)
    assert links == [f"views-{tid}", f"published_at-{tid}", f"read_at-{tid}"]
    assert [p.split(":")[0] for p in _summary(page)] == ["Views", "Published at", "Read at"]  # labelled in words
    assert "'lots' is not a number" in _field_error(page, "views", tid)
    assert "is in the future" in _field_error(page, "published_at", tid)
    assert "is not after it was published" in _field_error(page, "read_at", tid)
    assert _field_error(page, "subscribers", tid) == "" and _field_error(page, "title", tid) == ""
    for name, value in form.items():  # every field as typed
        if name not in ("tracked_id", "csrf_token"):
            assert re.search(rf'id="{name}-{tid}" name="{name}"[^>]* value="{re.escape(value)}"', page), name
    item = web.get("/track.json").json()["items"][0]
    assert item["snapshots"] == [] and not item["details_typed"] and item["title"] is None  # nothing stored


def test_an_unreadable_publish_time_is_named_once_and_the_other_fields_still_checked(web: TestClient) -> None:
    """A publish time that is not a time is said to be that (not also missing), and the blank title is still asked
    for; the read time is not compared with a publish time that could not be read."""
    token, tid = _tracked(web)
    form = {"views": "15k", "read_at": "2026-01-02T10:00", "published_at": "last tuesday", "csrf_token": token,
            "tracked_id": str(tid)}  # fmt: skip
    page = web.post(f"/track/{tid}/views", data=form).text
    assert [p.split(":")[0] for p in _summary(page)] == ["Published at", "Title"], _summary(page)
    assert _field_error(page, "published_at", tid) == "Published at: 'last tuesday' is not a date and time"
    assert "give its title" in _field_error(page, "title", tid) and _field_error(page, "read_at", tid) == ""
    assert web.get("/track.json").json()["items"][0]["snapshots"] == []


def test_a_views_form_with_problems_goes_back_to_the_track_page(web: TestClient) -> None:
    """The problems were shown at the form's action URL (/track/1/views): a reload posted the form again, and the
    address could not be opened. Now the browser is sent back to /track, which shows them once, as typed."""
    token, tid = _tracked(web)
    now = datetime.now(UTC)
    form = {"views": "lots", "read_at": (now - timedelta(days=1)).strftime(LOCAL), "title": "Crumb shot",
            "published_at": now.strftime(LOCAL), "tracked_id": str(tid), "csrf_token": token}  # fmt: skip
    sent = web.post(f"/track/{tid}/views", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/track"
    page = web.get("/track")
    assert page.status_code == 200 and "<h1>Track your videos</h1>" in page.text
    assert [p.split(":")[0] for p in _summary(page.text)] == ["Views", "Read at"]
    assert "'lots' is not a number" in _field_error(page.text, "views", tid)
    assert '<details class="add-views" open>' in page.text and 'value="Crumb shot"' in page.text
    reload = web.get("/track").text  # said once: a reload shows the page as it is
    assert _summary(reload) == [] and 'value="Crumb shot"' not in reload
    assert web.get("/track.json").json()["items"][0]["snapshots"] == []
    # a form too large for the flash cookie (a title of 300 emoji) is shown again at the action URL, as before
    long = web.post(f"/track/{tid}/views", data={**form, "title": "🍞" * 300}, follow_redirects=False)
    assert long.status_code == 422 and len(_summary(long.text)) == 2 and "🍞" * 300 in long.text
    assert "set-cookie" not in long.headers  # no flash left over for the next view
    # the form posted to the page's own path still answers there; the API keeps its JSON error, with every problem
    added = web.post("/track", data={"url": "https://example.com/video", "csrf_token": token}, follow_redirects=False)
    assert added.status_code == 422 and "Video URL: not a YouTube video URL or id" in _summary(added.text)[0]
    body = {"views": 10, "title": "Soon", "published_at": (now + timedelta(days=3)).isoformat(),
            "read_at": (now - timedelta(days=1)).isoformat()}  # fmt: skip
    api = web.post(f"/api/v1/tracked/{tid}/views", json=body, headers={"X-CSRF-Token": token})
    assert api.status_code == 422 and api.json()["ok"] is False
    assert [d["field"] for d in api.json()["error"]["details"]] == ["body.published_at", "body.read_at"]
