"""YouTube URL forms accepted by POST /tracked."""

from __future__ import annotations

import pytest

from miles.errors import InvalidInput
from miles.serve.api.tracked import youtube_video_id


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
