"""YouTube URL forms accepted by POST /tracked."""

from __future__ import annotations

import pytest

from miles.errors import InvalidInput
from miles.serve.services.tracked import youtube_video_id


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
