"""Chart specs read as numbers people use: ticks named as views or multiples, and room for the labels."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from fastapi.testclient import TestClient

from miles.serve.pages.charts import (
    COUNT_TEXT_SIZE,
    MAX_MULTIPLE_TICKS,
    hours_figure,
    interval_figure,
    multiple_ticks,
    scatter_figure,
)


def test_axes_make_room_for_their_labels() -> None:
    """ "1,000,000" was cut to "000,000" with the axis title drawn over it."""
    horizons = [{"horizon_h": 1.0, "label": "1h", "p10": 1.0, "p50": 10.0, "p90": 1e6}]
    layout = interval_figure(horizons)["layout"]
    assert layout["yaxis"]["automargin"] and layout["xaxis"]["automargin"]


def test_multiples_are_on_a_log_axis_ticked_as_multiples() -> None:
    """One hour with a single 283x video flattened the others on a linear axis; 0.1x was labelled "0"."""
    hours = [{"hour": 3, "median_multiple": 283.0, "count": 1}, {"hour": 4, "median_multiple": 0.8, "count": 5}]
    axis = hours_figure(hours)["layout"]["yaxis"]
    assert axis["type"] == "log" and "1×" in axis["ticktext"] and "0.3×" in axis["ticktext"]
    assert "0" not in axis["ticktext"]
    points = [{"duration_s": 30.0, "multiple": 0.1, "title": "a"}, {"duration_s": 60.0, "multiple": 20.0, "title": "b"}]
    scatter = scatter_figure(points, "duration_s", "multiple", "duration", "multiple", log_x=True, log_y=True,
                             y_multiple=True)  # fmt: skip
    assert scatter["layout"]["yaxis"]["ticktext"] == ["0.1×", "0.3×", "1×", "3×", "10×", "30×"]


def test_an_empty_scatter_says_so_instead_of_drawing_made_up_ticks() -> None:
    points = [{"title": "t", "duration_s": None, "multiple": 2.0}]
    empty = scatter_figure(points, "duration_s", "multiple", "duration", "multiple", log_x=True, log_y=True)
    assert empty["data"][0]["x"] == [] and not empty["layout"]["yaxis"]["showticklabels"]
    assert "no stored video has both duration and multiple" in empty["layout"]["annotations"][0]["text"]
    points = [{"title": "t", "duration_s": 30, "multiple": 2.0}]
    drawn = scatter_figure(points, "duration_s", "multiple", "d", "m", log_x=True, log_y=True, y_multiple=True)
    assert "annotations" not in drawn["layout"] and drawn["layout"]["yaxis"]["ticktext"] == ["1×", "2×", "5×"]


def test_a_log_x_axis_labels_each_power_of_ten_written_out() -> None:
    figure = scatter_figure([{"title": "t", "age_h": 20.0, "views": 5.0}], "age_h", "views", "age", "views",
                            log_x=True, log_y=True)  # fmt: skip
    assert figure["layout"]["xaxis"]["dtick"] == 1 and figure["layout"]["xaxis"]["tickformat"] == ",~g"


def test_the_views_so_far_are_drawn_where_the_forecast_starts() -> None:
    horizons = [{"horizon_h": 24.0, "label": "1d", "p10": 100.0, "p50": 300.0, "p90": 900.0}]
    figure = interval_figure(horizons, [{"age_h": 1.0, "views": 40}, {"age_h": 6.0, "views": 0}])
    seen = figure["data"][-1]
    assert seen["name"] == "views so far" and seen["x"] == [1.0, 6.0] and seen["y"] == [40, 1.0]
    assert [t["name"] for t in interval_figure(horizons)["data"]][-1] == "p50 (median)"


def test_a_reading_next_to_a_horizon_is_drawn_without_its_own_tick_label() -> None:
    """Views read at 20 h put "20h" over "1d" on the time axis; a reading clear of the horizons keeps its label."""
    named = ((24.0, "1d"), (168.0, "7d"))
    horizons = [{"horizon_h": h, "label": k, "p10": 100.0, "p50": 300.0, "p90": 900.0} for h, k in named]
    axis = interval_figure(horizons, [{"age_h": 1.0, "views": 40}, {"age_h": 20.0, "views": 900}])["layout"]["xaxis"]
    assert axis["ticktext"] == ["1h", "1d", "7d"] and axis["tickvals"] == [1.0, 24.0, 168.0]


def test_a_forecast_within_a_power_of_ten_gets_ticks_between() -> None:
    """A stalled video's 1,000-2,100 views showed the single tick "1,000"; a wide range keeps one per power of ten."""
    narrow = [{"horizon_h": 168.0, "label": "7d", "p10": 1000.0, "p50": 1000.0, "p90": 2108.0}]
    axis = interval_figure(narrow, [{"age_h": 72.0, "views": 1000}])["layout"]["yaxis"]
    inside = [t for t, v in zip(axis["ticktext"], axis["tickvals"], strict=True) if 1000 <= v <= 2108]
    assert inside == ["1,000", "1,500", "2,000"], inside
    wide = [{"horizon_h": 168.0, "label": "7d", "p10": 10.0, "p50": 300.0, "p90": 50_000.0}]
    assert interval_figure(wide)["layout"]["yaxis"]["dtick"] == 1


def test_a_tracked_videos_age_axis_is_ticked_in_hours_and_days() -> None:
    """Readings at 20-30 h were drawn on an axis with the single tick "100"."""
    from miles.serve.pages.charts import trajectory_figure

    snaps = [{"age_h": 20.0, "views": 5000}, {"age_h": 25.0, "views": 8000}]
    axis = trajectory_figure(snaps, None)["layout"]["xaxis"]
    assert axis["ticktext"] == ["12h", "1d", "2d"] and axis["tickvals"] == [12, 24, 48]
    horizons = [{"horizon_h": h, "p10": 1.0, "p50": 2.0, "p90": 3.0} for h in (1.0, 24.0, 168.0, 720.0)]
    axis = trajectory_figure([{"age_h": 0.5, "views": 40}], horizons)["layout"]["xaxis"]
    assert axis["ticktext"] == ["15 min", "30 min", "1h", "2h", "6h", "12h", "1d", "2d", "3d", "7d", "14d",
                                "30d"]  # fmt: skip


def test_a_wide_range_of_multiples_gets_a_few_ticks_written_out() -> None:
    """0.04x-400x got the whole 1-2-5 ladder: ten labels in the Duration chart's 220 px, touching on a phone."""
    wide = multiple_ticks([0.04, 1.3, 400.0])
    assert wide is not None and wide["ticktext"] == ["0.1×", "1×", "10×", "100×", "1,000×"]
    narrow = multiple_ticks([0.46, 9.0])  # under two powers of ten: the 1-2-5 ladder still fits
    assert narrow is not None and narrow["ticktext"] == ["0.2×", "0.5×", "1×", "2×", "5×", "10×", "20×"]
    huge = multiple_ticks([0.001, 1e6])
    assert huge is not None and huge["ticktext"] == ["0.01×", "1×", "100×", "10,000×", "1,000,000×"]
    assert all(len(t["tickvals"]) <= MAX_MULTIPLE_TICKS for t in (wide, narrow, huge))
    assert multiple_ticks([]) is None and multiple_ticks([0.0]) is None


def _page_figures(page: str) -> dict[str, Any]:
    """Each chart's Plotly spec as the browser reads it from the page, by its aria-label."""
    found = re.findall(r"data-figure='([^']*)' role=\"img\" aria-label=\"([^\"]+)\"", page)
    return {label: json.loads(html.unescape(spec)) for spec, label in found}


def test_explore_draws_counts_readable_and_multiples_with_few_ticks(web: TestClient) -> None:
    """The posting-hours bars' "n=1" was squeezed into a bar's width (4 px on a phone), and the Duration chart's
    multiples axis carried the whole 1-2-5 ladder from 0.01x to 100,000x."""
    data = web.get("/explore.json", params={"topic": "sourdough"}).json()
    charts = _page_figures(web.get("/explore", params={"topic": "sourdough"}).text)
    bars = charts["Median outlier multiple by publish hour"]["data"][0]
    assert bars["text"] == [f"n={h['count']}" for h in data["by_hour"]]
    assert (bars["textposition"], bars["textangle"], bars["constraintext"]) == ("outside", -90, "none")
    assert bars["textfont"]["size"] == COUNT_TEXT_SIZE >= 11 and bars["cliponaxis"] is False
    axis = charts["Scatter of outlier multiple against duration"]["layout"]["yaxis"]
    measured = [p["multiple"] for p in data["points"] if p["duration_s"] and p["multiple"]]
    assert axis["tickvals"] == multiple_ticks(measured)["tickvals"]  # type: ignore[index]
    assert 2 <= len(axis["tickvals"]) <= MAX_MULTIPLE_TICKS and "1×" in axis["ticktext"]
