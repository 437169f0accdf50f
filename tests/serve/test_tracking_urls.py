"""YouTube URL forms accepted by POST /tracked (and by a draft's link, and `miles track add`), and the words for
anything else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import ApiUser

from miles.errors import InvalidInput
from miles.serve.services.tracked import VIDEO_URLS_TAKEN, link_to_track, youtube_video_id


@pytest.mark.parametrize(
    "url",
    [
        "dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10",
        "youtube.com/shorts/dQw4w9WgXcQ",
        "https://m.youtube.com/embed/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
    ],
)
def test_accepted_forms(url: str) -> None:
    assert youtube_video_id(url) == "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url", ["https://vimeo.com/dQw4w9WgXcQ", "https://youtube.com/watch?v=short", "http://[::1", "https://youtu.be/"]
)
def test_refused_forms(url: str) -> None:
    with pytest.raises(InvalidInput, match="not a YouTube video URL"):
        youtube_video_id(url)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://music.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ?si=abc", "dQw4w9WgXcQ"),
        ("dQw4w9WgXcQ", None),  # a search query can look like a bare id: the collector searches it
        ("youtube.com/shorts/dQw4w9WgXcQ", None),  # the collector takes links with their scheme only
        ("https://www.youtube.com/@somechannel", None),
    ],
)
def test_the_collector_reads_video_links_as_the_api_does(target: str, expected: str | None) -> None:
    from miles.collect.ytdlp import video_id_from_url

    assert video_id_from_url(target) == expected


@pytest.mark.parametrize(
    "sent", ["not a url", "", "  ", "dQw4w9", "https://vimeo.com/1", "https://www.youtube.com/@name"]
)
@pytest.mark.parametrize(("route", "field"), [("/api/v1/tracked", "url"), ("/api/v1/predictions/1/link", "video")])
def test_anything_but_a_video_url_is_told_what_was_sent_and_what_is_taken(
    client: TestClient, user_factory: Callable[[str], ApiUser], route: str, field: str, sent: str
) -> None:
    """A short text was refused as "String should have at least 11 characters" where a vimeo URL was told what the
    tracker takes."""
    user = user_factory("urls@example.com")
    answer = client.post(route, json={field: sent}, headers=user.headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    problem = f"not a YouTube video URL or id (nor a TikTok video URL): {sent.strip()!r}; {VIDEO_URLS_TAKEN}"
    assert error["message"] == f"body.{field}: {problem}"
    assert error["details"] == [{"field": f"body.{field}", "message": problem}]
    assert "youtu.be" in problem and "tiktok.com/@name/video/" in problem


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (" https://youtu.be/dQw4w9WgXcQ?si=abc ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (
            "https://www.tiktok.com/@a.b/video/7451234567890123456?x=1",
            "https://www.tiktok.com/@a.b/video/7451234567890123456",
        ),
        (" https://vm.tiktok.com/ZMhQx7AbC/", "https://vm.tiktok.com/ZMhQx7AbC/"),  # followed by yt-dlp when read
    ],
)
def test_the_cli_reads_a_video_at_its_canonical_link_or_a_tiktok_short_link(url: str, link: str) -> None:
    assert link_to_track(url) == link


def test_the_cli_refuses_another_site_in_the_apis_words() -> None:
    with pytest.raises(InvalidInput) as caught:
        link_to_track("https://vimeo.com/123")
    problem = f"not a YouTube video URL or id (nor a TikTok video URL): 'https://vimeo.com/123'; {VIDEO_URLS_TAKEN}"
    assert caught.value.message == f"URL: {problem}"
