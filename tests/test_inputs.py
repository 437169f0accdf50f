"""miles.inputs: numbers, durations, publish times and hours read as people type them (one table per kind)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from miles.inputs import (
    InputError,
    format_duration,
    parse_age_h,
    parse_category,
    parse_count,
    parse_duration,
    parse_hour,
    parse_publish_time,
    parse_subscribers,
    parse_tags,
    parse_title,
)

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),  # 0 means 0, not unknown
        ("1200", 1200),
        ("1,200", 1200),
        ("1 200", 1200),
        ("1\u202f200", 1200),  # narrow no-break space, as some locales format numbers
        ("1'200", 1200),
        ("1,234,567", 1_234_567),
        ("12k", 12_000),
        ("12K", 12_000),
        ("12 k", 12_000),
        ("1.2k", 1200),
        ("1.2M", 1_200_000),
        ("3m", 3_000_000),
        ("1.5b", 1_500_000_000),
        (".5k", 500),
        ("2.000", 2000),  # German, French...: the dot groups thousands (it was read as 2)
        ("1.200.000", 1_200_000),
        ("2 million", 2_000_000),
        ("12 thousand", 12_000),
        ("2,5k", 2500),  # a decimal comma before a suffix (French, German...)
        ("1,5M", 1_500_000),
        ("1,25 m", 1_250_000),
        ("2万", 20_000),  # Japanese (and Chinese) 10,000: YouTube's Japanese pages write counts so
        ("1.2万", 12_000),
        ("1,5万", 15_000),
        ("2.1万人", 21_000),  # "people", as the channel page writes subscribers ("チャンネル登録者数 2.1万人")
        ("3千", 3_000),
        ("1.5億", 150_000_000),
        ("15K", 15_000),
        ("1.5M", 1_500_000),
        ("  42 ", 42),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_counts_read_as_typed(text: str | None, expected: int | None) -> None:
    assert parse_count(text, "subscribers") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("12q", "subscribers: '12q' is not a number (try 1200, 1,200 or 1.2k)"),
        ("12,00", "subscribers: '12,00' is not a number (try 1200, 1,200 or 1.2k)"),  # not groups of three
        ("1,200 300", "is not a number"),  # two separators mixed
        ("1.200,000", "is not a number"),
        ("1.5", "subscribers: 1.5 is not a whole number"),  # a plain number is shown as it is, text quoted
        ("-3", "subscribers: -3 is negative; a count is 0 or more (e.g. 1200 or 1.2k)"),
        ("\u22123", "subscribers: \u22123 is negative"),  # the typographic minus
        ("-1.2k", "is negative"),
        ("2万円", "is not a number"),  # yen are not a count
        ("万", "is not a number"),
        ("20b", "is more than 10,000,000,000"),
        ("1,200, 3,400", "is not a number"),  # alternatives are separate fields, never a comma list
        ("1,500k", "is not a number"),  # 1.5k or 1,500 thousand? ambiguous: refused
    ],
)
def test_nonsense_counts_are_refused_naming_field_and_text(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_count(text, "subscribers")
    assert problem in caught.value.message and caught.value.field == "subscribers"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("45.5", 45.5),
        ("90s", 90.0),
        ("90 sec", 90.0),
        ("1:30", 90.0),
        ("0:45", 45.0),
        ("1:30.5", 90.5),
        ("1m30s", 90.0),
        ("1m 30s", 90.0),
        ("2 min", 120.0),
        ("1.5m", 90.0),
        ("0:02:30", 150.0),
        ("3:00", 180.0),  # the longest Short
        ("45,5", 45.5),  # a decimal comma
        ("1m30", 90.0),
        ("1min30", 90.0),
        ("1 min 30", 90.0),
    ],
)
def test_durations_read_as_typed(text: str, seconds: float) -> None:
    assert parse_duration(text, "duration") == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "duration: 'abc' is not a duration (try 45, 1:30 or 1m30s)"),
        ("1:5", "is not a duration"),  # seconds after ':' take two digits
        ("1:75", "minutes and seconds after ':' run from 00 to 59"),
        ("1:60:00", "minutes and seconds after ':' run from 00 to 59"),
        ("0", "a video lasts more than 0 seconds"),
        ("0:00", "a video lasts more than 0 seconds"),
        ("3:01", "duration: '3:01' is 181 s; a YouTube Short is at most 3:00 (180 s)"),
        ("86400", "duration: 86400 is too long; a YouTube Short is at most 3:00 (180 s)"),
        ("1:02:03", "is 3723 s"),
        ("1h", "is 3600 s"),
        ("-5", "duration: -5 is negative; give the video's length in seconds (e.g. 35 or 0:35)"),
        ("-0:35", "duration: '-0:35' is negative; give the video's length in seconds"),
        ("1m75", "is not a duration"),
    ],
)
def test_nonsense_and_too_long_durations_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_duration(text, "duration")
    assert problem in caught.value.message


def test_duration_limit_can_be_raised_by_a_caller_and_formats_back() -> None:
    assert parse_duration("1:02:03", "duration", maximum=4 * 3600) == 3723.0
    assert [format_duration(s) for s in (20, 90, 90.5, 3723)] == ["0:20", "1:30", "1:30.5", "1:02:03"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05T17:00", datetime(2026, 12, 5, 17, tzinfo=UTC)),  # naive is UTC (datetime-local input)
        ("2026-12-05 17:00", datetime(2026, 12, 5, 17, tzinfo=UTC)),
        ("2026-12-05T17:00Z", datetime(2026, 12, 5, 17, tzinfo=UTC)),
        ("2026-12-05T19:00+02:00", datetime(2026, 12, 5, 17, tzinfo=UTC)),
        ("2026-12-05", datetime(2026, 12, 5, tzinfo=UTC)),
        ("2005-01-01", datetime(2005, 1, 1, tzinfo=UTC)),
        ("", None),
    ],
)
def test_publish_times_read_as_typed(text: str, expected: datetime | None) -> None:
    assert parse_publish_time(text, "publish time", now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1990-01-01", "publish time: '1990-01-01' is before 2005 (YouTube's first year)"),
        ("2028-01-01", "publish time: '2028-01-01' is more than one year ahead (latest 2027-12-04)"),
        ("tomorrow", "publish time: 'tomorrow' is not a date and time (try 2026-03-01 17:00)"),
        ("0001-01-01T00:00:00+14:00", "publish time: '0001-01-01T00:00:00+14:00' is out of range"),
    ],
)
def test_publish_times_outside_2005_to_a_year_ahead_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_publish_time(text, "publish time", now=NOW)
    assert problem in caught.value.message


@pytest.mark.parametrize(
    ("text", "hour"), [("0", 0), ("17", 17), ("17:00", 17), ("5pm", 17), ("5 PM", 17), ("12am", 0), ("12pm", 12)]
)
def test_hours_read_as_typed(text: str, hour: int) -> None:
    assert parse_hour(text, "posting hour") == hour


@pytest.mark.parametrize(
    ("text", "problem"),
    [("24", "hours run from 0 to 23"), ("13pm", "from 1 to 12"), ("noon", "not an hour of the day"), ("17:30", "hour")],
)
def test_nonsense_hours_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_hour(text, "posting hour")


def test_a_long_typed_value_is_shortened_in_the_message() -> None:
    with pytest.raises(InputError) as caught:
        parse_count("x" * 5000, "subscribers")
    assert len(caught.value.message) < 120 and "…" in caught.value.message


@pytest.mark.parametrize(
    ("typed", "tags"),
    [
        ("iphone, tech tips", ["iphone", "tech tips"]),  # a comma separates: YouTube tags may hold spaces
        ("#iphone #tech", ["iphone", "tech"]),
        ("iphone tech", ["iphone", "tech"]),
        ("a,, b ,a\n#c  d", ["a", "b", "c d"]),
        ("  ", []),
        (None, []),
    ],
)
def test_tags_are_read_alike_on_every_surface(typed: str | None, tags: list[str]) -> None:
    assert parse_tags(typed) == tags


def test_a_subscriber_count_past_the_biggest_channels_is_a_typo() -> None:
    assert parse_subscribers("400M", "subscribers") == 400_000_000
    with pytest.raises(InputError, match=r"subscribers: 10000000000 is more than 1,000,000,000"):
        parse_subscribers("10000000000", "subscribers")


def test_ages_are_written_as_people_read_them() -> None:
    from miles.inputs import format_age

    assert [format_age(h) for h in (0.470673, 1.0, 20.5, 23.456, 167.25)] == ["28 min", "1 h", "20.5 h", "23.5 h",
                                                                              "167 h"]  # fmt: skip


def test_counts_and_their_nouns_agree() -> None:
    from miles.inputs import format_count

    assert format_count(1, "earlier upload") == "1 earlier upload"
    assert [format_count(n, "video") for n in (0, 2, 1204)] == ["0 videos", "2 videos", "1,204 videos"]
    assert format_count(1, "reply", "replies") == "1 reply" and format_count(3, "reply", "replies") == "3 replies"


def test_a_viral_chance_reads_the_same_on_every_surface() -> None:
    from miles.inputs import format_chance

    assert [format_chance(p) for p in (0.137, 0.01, 0.5, 0.999)] == ["14 %", "1 %", "50 %", "100 %"]


def test_percentages_round_halves_up_and_the_cli_and_page_agree() -> None:
    """The page showed 40 % where the CLI showed 39 %: the page formatted the API's chance (0.395, CHANCE_DECIMALS
    places) and the CLI the model's own 0.39496; Python's round() and "%.0f" also send halves to the even side
    (38.5 -> 38) and read the binary float (0.285 * 100 -> 28.4999...)."""
    import random

    from miles.domain import CHANCE_DECIMALS
    from miles.inputs import format_chance, format_percent, round_half_up
    from miles.serve.pages.common import TEMPLATES

    assert [format_chance(p) for p in (0.395, 0.39496, 0.385, 0.285, 0.005, 0.0)] == [
        "40 %", "40 %", "39 %", "29 %", "1 %", "0 %"
    ]  # fmt: skip
    assert format_percent(0.285) == "29 %" and format_percent(0.0125, 1) == "1.3 %" and format_percent(0.8) == "80 %"
    assert [round_half_up(v) for v in (0.5, 1.5, 2.5, -2.5)] == [1, 2, 3, -3] and round_half_up(0.285, 2) == 0.29
    rng = random.Random(7)
    for p in [rng.random() for _ in range(2000)] + [k / 2000 for k in range(2001)]:
        shown = round_half_up(p, CHANCE_DECIMALS)  # what every JSON answer carries
        assert format_chance(shown) == format_chance(p), p  # the page (from the answer) = the CLI (from the model)
    page = TEMPLATES.env.from_string("{{ 0.385|chance }} · {{ 0.285|percent }} · {{ 0.9125|percent(1) }}").render()
    assert page.replace("&nbsp;", " ") == "39 % · 29 % · 91.3 %"  # the page's sign keeps to its number's line


def test_a_forecast_under_one_view_reads_under_1_on_every_surface() -> None:
    """A 50-subscriber channel's 1-hour forecast of 0.4 views read "0 views"; a real count of 0 stays "0"."""
    from miles.inputs import format_forecast_range, format_forecast_views, format_views

    # 0.96 is 1.0 as the answers carry it (one decimal): the CLI's raw number and the page's API number agree
    assert [format_forecast_views(v) for v in (0.0, 0.4, 0.94, 0.96, 1.0, 2.5, 1234.5)] == [
        "under 1", "under 1", "under 1", "1", "1", "3", "1,235"
    ]  # fmt: skip
    assert format_forecast_views(0.3, noun=True) == "under 1 view" and format_forecast_views(1, noun=True) == "1 view"
    assert format_forecast_views(2_500_000, compact=True, noun=True) == "2.5M views"
    assert format_forecast_range(0.0, 3.6) == "under 1 to 4" and format_forecast_range(0.2, 0.7) == "under 1"
    assert format_forecast_range(12, 40) == "12–40" and format_forecast_range(1200, 45_000, compact=True) == "1.2K–45K"
    assert format_views(0) == "0" and format_views(1250, compact=True) == "1.3K"  # counts: no "under"


@pytest.mark.parametrize(
    ("views", "shown"), [(950, "950"), (999_960, "1M"), (999_949, "999.9K"), (999_999_999, "1B"), (1_500_000, "1.5M")]
)
def test_a_compact_count_never_reads_a_thousand_of_a_unit(views: float, shown: str) -> None:
    from miles.inputs import format_views

    assert format_views(views, compact=True) == shown  # 999,960 read "1000K"


def test_templates_format_percentages_with_the_shared_filters() -> None:
    """A template doing its own ``"%.0f"|format(x * 100)`` rounded halves to even, unlike the CLI."""
    from pathlib import Path

    templates = Path(__file__).parents[1] / "src/miles/serve/templates"
    own = [t.name for t in templates.glob("*.html") if "* 100)" in t.read_text(encoding="utf-8")]
    assert own == []


def test_subscribers_take_the_japanese_unit_and_their_own_words_for_a_negative() -> None:
    assert [parse_subscribers(t, "subscribers") for t in ("2万", "1.2万", "15k", "1.5M", "2万人")] == [
        20_000, 12_000, 15_000, 1_500_000, 20_000
    ]  # fmt: skip
    with pytest.raises(InputError, match=r"^subscribers: -3 is negative; give the channel's subscribers, 0 or more"):
        parse_subscribers("-3", "subscribers")
    with pytest.raises(InputError, match="is more than 1,000,000,000"):
        parse_subscribers("2000億", "subscribers")


NEGATIVE = {
    "duration_s": (parse_duration, "give the video's length in seconds (e.g. 35 or 0:35)"),
    "channel_subscribers": (parse_subscribers, "give the channel's subscribers, 0 or more (e.g. 1200, 15k or 2万)"),
    "views": (parse_count, "a count is 0 or more (e.g. 1200 or 1.2k)"),
    "age_h": (parse_age_h, "give the time since publishing (e.g. 6, 6h, 30min or 2d)"),
    "category_id": (parse_category, "give a YouTube category id from 0 to 100 (e.g. 22 or 28)"),
}


@pytest.mark.parametrize("field", sorted(NEGATIVE))
@pytest.mark.parametrize("value", ["-3", -3, -3.0])
def test_a_negative_number_reads_alike_in_every_numeric_field(field: str, value: str | float) -> None:
    """As text (form, CLI) or a JSON number (API): '<field>: -3 is negative; <what is allowed>'."""
    parse, allowed = NEGATIVE[field]
    with pytest.raises(InputError) as caught:
        parse(value, field)
    assert caught.value.message == f"{field}: -3 is negative; {allowed}"


def test_numbers_are_checked_as_text_is() -> None:
    assert parse_duration(35, "d") == 35.0 and parse_count(1200.0, "c") == 1200 and parse_category(22, "c") == 22
    cases = (
        (parse_duration, 500, "d: 500 is too long; a YouTube Short is at most 3:00 (180 s)"),
        (parse_duration, 0, "d: 0 is not a length"),
        (parse_subscribers, 2e9, "s: 2000000000 is more than 1,000,000,000"),
        (parse_count, 1.5, "c: 1.5 is not a whole number"),
        (parse_count, float("nan"), "c: 'nan' is not a finite number"),
        (parse_category, 101, "c: 101 is more than 100"),
        (parse_category, "news", "c: 'news' is not a category id"),
        (parse_age_h, 0, "a: 0 is not within a year after publishing"),
    )
    for parse, value, message in cases:
        with pytest.raises(InputError) as caught:
            parse(value, message[0])
        assert caught.value.message.startswith(message), caught.value.message


def test_a_title_is_refused_blank_or_too_long_in_one_set_of_words() -> None:
    assert parse_title("  My title ", "title") == "  My title "
    for blank in ("", "   ", None):
        with pytest.raises(InputError) as caught:
            parse_title(blank, "title")
        assert caught.value.message == "title: is empty: type the title you plan to post"
    with pytest.raises(InputError, match="is 301 characters; a title is at most 300 characters"):
        parse_title("x" * 301, "title")


def test_page_percentages_keep_their_sign_on_the_numbers_line() -> None:
    """On a phone the model card broke "100 %" between the number and the sign: pages join them with a no-break
    space (the CLI and the JSON keep the plain space)."""
    from miles.serve.pages.common import TEMPLATES

    render = TEMPLATES.env.from_string("{{ a|percent }} {{ b|percent(1) }} {{ c|chance }}").render
    assert render(a=1.0, b=0.0125, c=0.137) == "100&nbsp;% 1.3&nbsp;% 14&nbsp;%"
