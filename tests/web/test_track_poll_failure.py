"""A failed poll on the Track page: said in words (the collector's reason, ``domain.failure_words``, the words
`miles track add` uses), with the site's own message tucked into a <details> that wraps. It showed yt-dlp's raw
exception ("[TikTok] ...: Unable to download webpage: HTTPSConnection(...) [Errno -2] ...") as the only words."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from tests.collect.fakeydl import fake_factory
from tests.jobs.conftest import make_collector
from tests.web.conftest import sign_up

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.track import poll_due

URL = "https://www.tiktok.com/@chef/video/7301234567890123456"
RAW = ("ERROR: [TikTok] 7301234567890123456: Unable to download webpage: HTTPSConnection(host='www.tiktok.com', "
       "port=443): Failed to resolve 'www.tiktok.com' ([Errno -2] Name or service not known) (caused by "
       "TransportError('no dns'))")  # fmt: skip


def _offline() -> Exception:
    from yt_dlp.networking.exceptions import TransportError
    from yt_dlp.utils import DownloadError

    return DownloadError(RAW, exc_info=(TransportError, TransportError("no dns"), None))


def test_a_failed_poll_is_said_in_words_with_the_sites_message_tucked_away(
    web: TestClient, web_settings: Settings
) -> None:
    token = sign_up(web)
    assert web.post("/track", data={"url": URL, "csrf_token": token}, follow_redirects=False).status_code == 303
    collector = make_collector(web_settings, retries=0, ydl_factory=fake_factory({URL: _offline()}))
    report = poll_due(collector=collector, now=utcnow() + timedelta(hours=2))  # the first poll is due at 1 h
    assert report.due == 1
    item = web.get("/track.json").json()["items"][0]
    assert item["last_error_words"] == "the site could not be reached (no network, or it is down)"
    assert "Unable to download webpage" in item["last_error"] and item["active"]  # a transient failure: tried again
    page = web.get("/track").text
    box = re.search(r'<div class="note warn poll-failed">(.*?)</div>', page, re.S)
    assert box, "no poll failure on the page"
    words, detail = box.group(1).split("<details>", 1)
    assert re.sub(r"<[^>]+>", "", words) == (
        "Last poll failed: the site could not be reached (no network, or it is down). Miles tries again at the next "
        "poll."
    )
    assert "Unable to download webpage" in html.unescape(detail) and '<p class="raw-error">' in detail
    css = web.get("/static/miles.css").text
    assert re.search(r"\.poll-failed \.raw-error \{[^}]*overflow-wrap: anywhere", css)
