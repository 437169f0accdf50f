"""A plain-mapping draft (the CLI's ``miles predict --publish-at``) bounds its publish time as the API does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from miles.errors import InvalidInput
from miles.features.draft import DraftInput

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("1990-01-01", "before 2005"),
        ("2027-06-02T00:00:00Z", "more than one year ahead"),
        ("not a time", "is not a date and time"),
    ],
)
def test_publish_time_outside_2005_to_one_year_ahead_is_refused(when: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as err:
        DraftInput.from_mapping({"title": "Egg trick", "publish_at": when}, now=NOW)
    assert err.value.expected


def test_publish_times_inside_the_bounds_are_read_as_utc() -> None:
    item = DraftInput.from_mapping({"title": "Egg trick", "publish_at": "2027-05-01T09:00:00+02:00"}, now=NOW)
    assert item.draft.publish_at == datetime(2027, 5, 1, 7, tzinfo=UTC)
