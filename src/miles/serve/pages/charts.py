"""Plotly figure specs (plain dicts) built from the pages' data; ``static/miles.js`` draws them with Plotly.js."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from miles.inputs import format_forecast_range, format_forecast_views

BAND = "rgba(37, 99, 235, 0.18)"
LINE = "#1d4ed8"
ACCENT = "#b45309"
MUTED = "#6b7280"
COUNT_TEXT_SIZE = 11  # px: a bar's count label, a size under the chart's 13 px text
# one labelled tick per power of ten, written out (1, 10, 100, 1,000): Plotly's default labels 2 3 4 ... 9 between
# them, which made 200 and 2,000 hard to tell apart
LOG_TICKS_Y = {"dtick": 1, "tickformat": ",.0f"}
LOG_TICKS_X = {"dtick": 1, "tickformat": ",~g"}  # hours: 0.1 h is "0.1", not "0"
MIN_SHOWN_VIEWS = 1.0  # a log axis cannot show 0: lower values are drawn at 1 view (the hover text keeps them)


def view_ticks(values: Sequence[float]) -> dict[str, Any] | None:
    """A log views axis whose values span under two powers of ten gets 1-2-5 ticks: one tick per power of ten left
    a forecast of 1,000-2,100 views with the single tick "1,000". None (one per power of ten) otherwise."""
    shown = [max(float(v), MIN_SHOWN_VIEWS) for v in values]
    if not shown or max(shown) / min(shown) >= 100:
        return None
    first, last = math.floor(math.log10(min(shown))), math.ceil(math.log10(max(shown)))
    steps = (1, 1.5, 2, 3, 5, 7) if max(shown) / min(shown) < 10 else (1, 2, 5)
    ticks = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    return {"tickvals": ticks, "ticktext": [f"{t:,.0f}" if t >= 10 else f"{t:g}" for t in ticks]}


# a log axis of multiples (ratios) is ticked as multiples ("0" stood for 0.1x, and a range under one decade showed the
# single tick "1"), with at most this many labels: 0.04x-400x ticked 1-2-5 put ten labels in the 220 px of the
# Duration chart, touching on a phone
MAX_MULTIPLE_TICKS = 7
_MULTIPLE_STEPS = ((1, 2, 5), (1, 3), (1,))  # per power of ten, densest first


def multiple_ticks(values: Sequence[float]) -> dict[str, Any] | None:
    """Ticks for a log axis of multiples over ``values`` (and within x3 past each end, so that 1-3 ticks still
    label both ends): the densest of 1-2-5, 1-3 and powers of ten that keeps to ``MAX_MULTIPLE_TICKS``, then every
    other power of ten and so on. None without a positive value."""
    shown = [float(v) for v in values if v is not None and float(v) > 0]
    if not shown:
        return None
    low, high = min(shown) / 3.0, max(shown) * 3.0
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for steps in _MULTIPLE_STEPS:
        ticks = [t for k in decades for m in steps if low <= (t := round(m * 10.0**k, 12)) <= high]
        if len(ticks) <= MAX_MULTIPLE_TICKS:
            break
    stride = math.ceil(len(ticks) / MAX_MULTIPLE_TICKS)  # powers of ten, thinned around 1x
    ticks = [t for t in ticks if round(math.log10(t)) % stride == 0]
    return {"tickvals": ticks, "ticktext": [f"{t:,.0f}×" if t >= 1 else f"{t:g}×" for t in ticks]}  # not 1e+06×


# named as the forecast's horizons are (1h, 1d: ``horizon_label``) and the readings on the forecast chart (20h): the
# Track chart's "1 d" sat beside pills saying "1d"
_AGES = ((0.25, "15 min"), (0.5, "30 min"), (1, "1h"), (2, "2h"), (6, "6h"), (12, "12h"), (24, "1d"), (48, "2d"),
         (72, "3d"), (168, "7d"), (336, "14d"), (720, "30d"), (2160, "90d"), (8760, "1y"))  # fmt: skip


def age_ticks(values: Sequence[float]) -> dict[str, Any] | None:
    """A log hours axis ticked at ages a creator counts in (1h, 6h, 1d, 7d ...) within the values' span: one
    tick per power of ten left a chart of readings at 20-30 h with the single tick "100". None without values."""
    shown = [float(v) for v in values if v is not None and float(v) > 0]
    if not shown:
        return None
    low, high = min(shown) / 2.0, max(shown) * 2.0
    ticks = [(h, label) for h, label in _AGES if low <= h <= high] or [min(_AGES, key=lambda t: abs(t[0] - high))]
    return {"tickvals": [h for h, _ in ticks], "ticktext": [label for _, label in ticks]}


def _layout(
    x_title: str,
    y_title: str,
    *,
    log_x: bool = False,
    log_y: bool = False,
    y_ticks: dict[str, Any] | None = None,
    x_ticks: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``y_ticks`` / ``x_ticks``: an axis' ticks (default on a log axis: one per power of ten)."""
    return {
        "margin": {"l": 56, "r": 12, "t": 36, "b": 48},
        "height": 320,
        "font": {"family": "system-ui, sans-serif", "size": 13, "color": "#1f2937"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        # automargin: the margin grows to fit the tick labels and the title ("1,000,000" was cut to "000,000", with
        # the axis title drawn over it)
        "xaxis": {
            "title": {"text": x_title},
            "type": "log" if log_x else "linear",
            "gridcolor": "#e5e7eb",
            "automargin": True,
            # "2 3 ... 9 100 2 3": 20 h could not be told from 200 h
            **(x_ticks if x_ticks is not None else LOG_TICKS_X if log_x else {}),
        },
        "yaxis": {
            "title": {"text": y_title, "standoff": 8},
            "automargin": True,
            "type": "log" if log_y else "linear",
            "gridcolor": "#e5e7eb",
            **(y_ticks if y_ticks is not None else LOG_TICKS_Y if log_y else {}),
        },
        # above the plot: below it, a phone's narrow chart put the x-axis title over the legend
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        **extra,
    }


def band_traces(horizons: Sequence[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The p10–p90 band: an invisible p90 line, then p10 filled up to it."""
    x = [h["horizon_h"] for h in horizons]
    edge = {"x": x, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    return [
        {**edge, "y": [max(h["p90"], MIN_SHOWN_VIEWS) for h in horizons], "name": "p90", "showlegend": False},
        {**edge, "y": [max(h["p10"], MIN_SHOWN_VIEWS) for h in horizons], "fill": "tonexty", "fillcolor": BAND,
         "name": name},
    ]  # fmt: skip


# ticks on the log time axis at least this far apart (x1.4): closer, their labels overlapped on a phone
MIN_TICK_GAP_LOG = 0.35


def _hover(h: dict[str, Any]) -> str:
    """``1h: under 1 view (under 1 to 4)``: a forecast's hover text, in the words of the Score page's numbers."""
    return f"{h['label']}: {format_forecast_views(h['p50'], noun=True)} ({format_forecast_range(h['p10'], h['p90'])})"


def interval_figure(horizons: Sequence[dict[str, Any]], readings: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Predicted views at each horizon: the p10–p90 band and the p50 line (log scales, ticks named 1h … 30d), and
    the views already read (``{"age_h", "views"}``, early mode) as points, so the forecast is seen to start there."""
    x = [h["horizon_h"] for h in horizons]
    plotted = [h[q] for h in horizons for q in ("p10", "p50", "p90")] + [r["views"] for r in readings]
    layout = _layout("time after publishing", "views", log_x=True, log_y=True, y_ticks=view_ticks(plotted))
    ticks = {h["horizon_h"]: h["label"] for h in horizons}
    for r in readings:  # a reading's age is named unless it sits next to a named tick ("20h" over "1d")
        at = float(r["age_h"])
        if at > 0 and all(abs(math.log(at / t)) >= MIN_TICK_GAP_LOG for t in ticks if t > 0):
            ticks[at] = f"{r['age_h']:g}h"
    layout["xaxis"].update(tickvals=sorted(ticks), ticktext=[ticks[t] for t in sorted(ticks)])
    seen = [{
        "x": [r["age_h"] for r in readings], "y": [max(r["views"], MIN_SHOWN_VIEWS) for r in readings],
        "mode": "markers", "marker": {"color": ACCENT, "size": 9}, "name": "views so far",
        "text": [f"{r['views']:,} views at {r['age_h']:g} h" for r in readings],
        "hovertemplate": "%{text}<extra></extra>",
    }] if readings else []  # fmt: skip
    return {
        "data": [
            *band_traces(horizons, "p10–p90 (80 % of outcomes)"),
            {
                "x": x,
                "y": [max(h["p50"], MIN_SHOWN_VIEWS) for h in horizons],  # 0.4 views: no point on a log axis
                "mode": "lines+markers",
                "line": {"color": LINE, "width": 3},
                "name": "p50 (median)",
                "text": [_hover(h) for h in horizons],
                "hovertemplate": "%{text}<extra></extra>",
            },
            *seen,
        ],
        "layout": layout,
    }


def trajectory_figure(snapshots: Sequence[dict[str, Any]], horizons: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    """A tracked video's observed views by age, with the model's forecast band at its horizons."""
    data: list[dict[str, Any]] = []
    if horizons:
        # The band starts at the latest observed views, so the forecast visibly continues the trajectory.
        if snapshots:
            now = snapshots[-1]
            ahead = [h for h in horizons if h["horizon_h"] > now["age_h"]]
            start = {"horizon_h": now["age_h"], "p10": now["views"], "p50": now["views"], "p90": now["views"]}
            horizons = [start, *ahead] if ahead else horizons
        x = [h["horizon_h"] for h in horizons]
        data += [
            *band_traces(horizons, "forecast p10–p90"),
            {
                "x": x,
                "y": [max(h["p50"], MIN_SHOWN_VIEWS) for h in horizons],
                "mode": "lines+markers",
                "line": {"color": LINE, "dash": "dash"},
                "name": "forecast p50",
            },
        ]
    data.append(
        {
            "x": [s["age_h"] for s in snapshots],
            "y": [max(s["views"], 1) for s in snapshots],
            "mode": "lines+markers",
            "line": {"color": ACCENT, "width": 3},
            "name": "observed views",
        }
    )
    plotted = [y for trace in data for y in trace["y"]]
    ages = [x for trace in data for x in trace["x"]]
    layout = _layout("age since publishing", "views", log_x=True, log_y=True, y_ticks=view_ticks(plotted),
                     x_ticks=age_ticks(ages))  # fmt: skip
    return {"data": data, "layout": layout}


def scatter_figure(
    points: Sequence[dict[str, Any]],
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    *,
    log_x: bool,
    log_y: bool,
    y_multiple: bool = False,
) -> dict[str, Any]:
    """``y_multiple``: the y values are multiples (ratios), ticked 0.5×, 1×, 2× ..."""
    usable = [p for p in points if p.get(x) is not None and p.get(y) is not None and p[x] > 0 and p[y] > 0]
    ticks = multiple_ticks([p[y] for p in usable]) if y_multiple else None
    layout = _layout(x_title, y_title, log_x=log_x, log_y=log_y, y_ticks=ticks, showlegend=False)
    if not usable:  # empty log axes drew a ladder of made-up ticks: say why there is nothing to draw instead
        for axis in ("xaxis", "yaxis"):  # no ticks and no titles: the message is all there is (it overlapped them)
            layout[axis].update({"showticklabels": False, "showgrid": False, "zeroline": False, "title": {"text": ""}})
        layout["annotations"] = [_nothing_to_draw(f"no stored video has both {x_title} and {y_title} yet")]
    return {
        "data": [
            {
                "x": [p[x] for p in usable],
                "y": [p[y] for p in usable],
                "mode": "markers",
                "type": "scatter",
                "text": [p["title"][:80] for p in usable],
                "hovertemplate": "%{text}<br>%{x:.3s}, %{y:.3s}<extra></extra>",
                "marker": {"color": LINE, "opacity": 0.6, "size": 7},
                "name": "videos",
            }
        ],
        "layout": layout,
    }


def _nothing_to_draw(text: str) -> dict[str, Any]:
    return {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
            "font": {"color": MUTED}}  # fmt: skip


def hours_figure(by_hour: Sequence[dict[str, Any]], zone: str = "UTC") -> dict[str, Any]:
    """Median outlier multiple by publish hour, on the clock of ``zone`` (the browser's time zone on pages)."""
    return {
        "data": [
            {
                "x": [h["hour"] for h in by_hour],
                "y": [h["median_multiple"] for h in by_hour],
                "type": "bar",
                "text": [f"n={h['count']}" for h in by_hour],
                # upright above each bar at a fixed size: squeezed into a bar's width (Plotly's default), "n=1" was
                # drawn at 4 px
                "textposition": "outside",
                "textangle": -90,
                "constraintext": "none",
                "textfont": {"size": COUNT_TEXT_SIZE},
                "cliponaxis": False,
                "marker": {"color": [LINE if h["count"] >= 3 else MUTED for h in by_hour]},
                "hovertemplate": "%{x}:00 " + zone + ": median %{y:.2f}× (%{text})<extra></extra>",
                "name": "median multiple",
            }
        ],
        # log scale: multiples are ratios (0.5x and 2x equally far from 1x), and one hour with a single 283x video
        # flattened every other bar to zero on a linear axis
        "layout": _layout(
            f"publish hour ({zone})",
            "median outlier multiple",
            log_y=True,
            y_ticks=multiple_ticks([h["median_multiple"] for h in by_hour]),
            showlegend=False,
            xaxis={"title": {"text": f"publish hour ({zone})"}, "dtick": 3, "range": [-0.5, 23.5], "automargin": True},
        ),
    }


def reliability_figure(curves: dict[str, Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """Observed viral rate against predicted probability per bin, for each model, with the diagonal."""
    data: list[dict[str, Any]] = [
        {
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "line": {"dash": "dot", "color": MUTED},
            "name": "perfect calibration",
        }
    ]
    for name, bins in curves.items():
        pts = [b for b in bins if b.get("count") and b.get("mean_prob") is not None and b.get("observed") is not None]
        data.append(
            {
                "x": [b["mean_prob"] for b in pts],
                "y": [b["observed"] for b in pts],
                "mode": "lines+markers",
                "name": name,
                "text": [f"n={b['count']}" for b in pts],
                "hovertemplate": "predicted %{x:.2f}, observed %{y:.2f} (%{text})<extra></extra>",
            }
        )
    layout = _layout("predicted P(viral)", "observed viral rate", height=380)
    layout["xaxis"]["range"] = [0, 1]
    layout["yaxis"]["range"] = [0, 1]
    return {"data": data, "layout": layout}
