"""Post/Redirect/Get for the forms that change something: revoking a key, linking a draft to its video and stopping
tracking each answer 303 to the page the user came from, whose GET shows a fixed confirmation (a reload re-sends
nothing). The confirmation is chosen by a parameter's name and never echoes the URL's text; errors stay as they
were, and the API twins are unchanged."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up

from miles.config import Settings

SPOOF = "Your account is suspended, call 555-0100"


def _api_key(web: TestClient, token: str, name: str = "script") -> tuple[int, str]:
    created = web.post("/keys", data={"name": name, "csrf_token": token})
    key = re.search(r'id="new-key">([^<]+)<', created.text)
    assert key
    return web.get("/keys.json").json()["keys"][0]["id"], key.group(1)


def test_revoking_a_key_redirects_to_the_keys_page_which_says_so_once(web: TestClient) -> None:
    token = sign_up(web)
    key_id, _ = _api_key(web, token, "laptop")
    done = web.post(f"/keys/{key_id}/revoke", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/keys"
    shown = web.get("/keys")
    assert "Key “laptop” is revoked" in shown.text and 'role="status"' in shown.text
    assert "is revoked;" not in web.get("/keys").text  # a reload neither repeats the revoke nor the message
    assert web.get("/keys.json").json()["keys"][0]["active"] is False
    # posted again (a second tab, a script): said as already revoked, not "is revoked" again
    again = web.post(f"/keys/{key_id}/revoke", data={"csrf_token": token, "confirm": "yes"}).text  # to /keys
    assert "Key “laptop” was already revoked" in again and "nothing changed" in again and "is revoked;" not in again
    # errors are what they were: an unknown (or another user's) key is a 404 on the keys page
    gone = web.post("/keys/999/revoke", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert gone.status_code == 404 and "this account has no API key with id 999" in gone.text


def test_linking_a_draft_redirects_to_the_draft_which_says_so(web: TestClient) -> None:
    token = sign_up(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": token}
    pid = web.post("/score.json", data=form).json()["result"]["prediction_id"]
    link = {"video": "https://www.youtube.com/shorts/dRaFtVid0_1", "csrf_token": token}
    done = web.post(f"/history/{pid}/link", data=link, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/history/{pid}?linked=1"
    shown = web.get(done.headers["location"])
    assert "Linked. Miles tracks the video and grades this forecast" in shown.text
    assert SPOOF not in web.get(f"/history/{pid}", params={"linked": SPOOF}).text  # a flag, never text shown
    assert web.get(f"/history/{pid}.json").json()["prediction"]["video_id"] == "dRaFtVid0_1"
    assert web.post("/history/99999/link", data=link, follow_redirects=False).status_code == 404


def test_stopping_tracking_redirects_to_track_which_says_so(web: TestClient) -> None:
    token = sign_up(web)
    web.post("/track", data={"url": "https://youtu.be/sourdough20", "csrf_token": token})
    tracked_id = web.get("/track.json").json()["items"][0]["id"]
    done = web.post(f"/track/{tracked_id}/delete", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/track?stopped=1"
    assert "Tracking stopped. The views already recorded stay" in web.get(done.headers["location"]).text
    assert web.get("/track.json").json()["total"] == 0
    again = web.post(f"/track/{tracked_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 404 and f"you have no tracked video with id {tracked_id}" in again.text


def test_the_track_page_never_shows_text_from_its_url(web: TestClient, web_settings: Settings) -> None:
    from miles.jobs.tasks import mark_worker_alive

    token = sign_up(web)
    added = web.post(
        "/track", data={"url": "https://youtu.be/sourdough20", "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == "/track?added=sourdough20"
    shown = web.get(added.headers["location"]).text
    assert "Tracking sourdough20. No worker is running here" in shown
    assert "starts one with <code>miles worker</code>" in shown  # a command, not `backticks`
    mark_worker_alive(web_settings)  # a running worker's scheduled job
    assert "Tracking sourdough20. New views arrive" in web.get(added.headers["location"]).text
    spoofed = web.get("/track", params={"added": SPOOF, "views": SPOOF}).text
    assert SPOOF not in spoofed and "555-0100" not in spoofed


def test_the_api_twins_are_unchanged(web: TestClient) -> None:
    token = sign_up(web)
    _, key = _api_key(web, token)
    bearer = {"Authorization": f"Bearer {key}"}
    row = web.post("/api/v1/tracked", json={"url": "https://youtu.be/sourdough20"}, headers=bearer)
    assert row.status_code == 201
    assert web.delete(f"/api/v1/tracked/{row.json()['id']}", headers=bearer).status_code == 204
    assert web.delete(f"/api/v1/tracked/{row.json()['id']}", headers=bearer).status_code == 404
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "2000", "csrf_token": csrf(web)}
    pid = web.post("/score.json", data=form).json()["result"]["prediction_id"]
    linked = web.post(f"/api/v1/predictions/{pid}/link", json={"video": "dRaFtVid0_1"}, headers=bearer)
    assert linked.status_code == 200 and linked.json()["video_id"] == "dRaFtVid0_1" and linked.json()["linked"]
