"""Explore a niche: views by age, duration vs outlier multiple, and the best posting hours for a topic,
each chart with the number of videos behind it. The niche and its outliers come from the same code as the
ideas service (``repos.niche`` + ``recommend.outliers.niche_outliers``)."""

from __future__ import annotations

import math
from datetime import UTC, tzinfo
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from miles.domain import PLATFORM_NAMES, PLATFORMS, as_utc, utcnow
from miles.recommend.candidates import Filters
from miles.recommend.ideas import beating_expectation, niche_candidates, reference_labeler
from miles.recommend.outliers import niche_outliers
from miles.serve.pages.charts import hours_figure, scatter_figure
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.pages.forms import form_page
from miles.serve.pages.timezone import local_zone, zone_name
from miles.serve.schemas import Platform, SafeStr
from miles.serve.services.ideas import embedder_for
from miles.store.repos import niche as niche_repo

router = APIRouter(include_in_schema=False)
PLATFORM_CHOICES = [{"value": p, "label": PLATFORM_NAMES[p]} for p in PLATFORMS]
TOP_SHOWN = 10


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _points(outliers: pd.DataFrame) -> list[dict[str, Any]]:
    points = []
    for row in outliers.to_dict("records"):
        published = pd.Timestamp(row["published_at"])
        points.append(
            {
                "video_id": str(row["video_id"]),
                "title": str(row["title"]),
                "views": int(row["views"]),
                "age_h": round(float(row["age_h"]), 2),
                "duration_s": _num(row.get("duration_s")),
                "multiple": _num(row.get("multiple")),
                "niche_multiple": _num(row.get("niche_multiple")),  # what ranks a video of unknown basis
                "basis": str(row["basis"]),
                "trusted": bool(row.get("trusted", True)),  # trusted multiples rank first, then the thin ones
                "tiny_base": bool(row.get("tiny_base", False)),
                "publish_hour_utc": int(published.tz_convert("UTC").hour if published.tzinfo else published.hour),
                "published_at": as_utc(published.to_pydatetime()),
                "thumbnail_url": row.get("thumbnail_url"),
            }
        )
    return points


def by_hour(points: list[dict[str, Any]], tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """Median outlier multiple of the videos published in each hour on the clock of ``tz`` (UTC for the JSON
    twin, the browser's zone for the page's chart); hours without videos are left out."""
    rows = [
        {"hour": p["published_at"].astimezone(tz).hour, "multiple": p["multiple"]}
        for p in points
        if p["multiple"] is not None
    ]
    frame = pd.DataFrame(rows, columns=["hour", "multiple"])
    if frame.empty:
        return []
    grouped = frame.groupby("hour")["multiple"].agg(["median", "count"])
    return [
        {"hour": int(h), "median_multiple": round(float(r["median"]), 3), "count": int(r["count"])}
        for h, r in grouped.iterrows()
    ]


def explore_data(page: Page, topic: str, platform: str = "youtube") -> dict[str, Any]:
    """One platform's niche at a time: views and outlier multiples of YouTube and TikTok are not comparable."""
    topic = topic.strip()
    base = {"platform": platform, "platforms": PLATFORM_CHOICES}
    if not topic:
        return {**base, "topic": "", "videos": 0, "points": [], "by_hour": [], "counts": {}, "top": []}
    # the niche Ideas reads (relevance bar, topic's language, Shorts without ads): the full-text matches alone
    # showed a Samsung video at 10,927x for "iphone" and hair and teeth tips for "astuces cuisine"
    found = niche_candidates(page.settings, topic, platform=platform, embed=embedder_for(page.settings),
                             filters=Filters())  # fmt: skip
    snaps = niche_repo.snapshots_for(session=page.session, video_ids=found.ids)
    channels = snaps["channel_id"].dropna().unique().tolist() if not snaps.empty else []
    history = niche_repo.channel_history(session=page.session, channel_ids=channels)
    outliers = niche_outliers(snaps, history, reference_labeler(page.settings, utcnow(), platform))
    points = _points(outliers)
    hours = by_hour(points)
    counts = {
        "views_by_age": sum(1 for p in points if p["views"] > 0 and p["age_h"] > 0),
        "duration_vs_multiple": sum(1 for p in points if p["duration_s"] and p["multiple"]),
        "posting_hours": sum(h["count"] for h in hours),
    }
    return {
        **base,
        "topic": topic,
        "videos": len(points),
        "points": points,
        "by_hour": hours,
        "counts": counts,
        # outliers beat what their basis expects, as on Ideas: the niche's best at 0.84x was listed as one
        "top": _points(beating_expectation(outliers, []).head(TOP_SHOWN)),
    }


def figures(data: dict[str, Any], tz: tzinfo = UTC, zone: str = "UTC") -> dict[str, Any]:
    points = data["points"]
    return {
        "views_by_age": scatter_figure(
            points, "age_h", "views", "age (hours since publishing)", "views", log_x=True, log_y=True
        ),
        "duration_vs_multiple": scatter_figure(
            points,
            "duration_s",
            "multiple",
            "duration (seconds)",
            "outlier multiple",
            log_x=True,
            log_y=True,
            y_multiple=True,
        ),
        "posting_hours": hours_figure(by_hour(points, tz), zone),
    }


form_page("/explore", "explore.html", lambda page: explore_data(page, ""), lambda q: {"topic": q.get("topic", "")})


@router.get("/explore")
@router.get("/explore.json")
def explore(
    page: PageDep,
    topic: Annotated[SafeStr, Query(max_length=200)] = "",
    platform: Annotated[Platform, Query(description="youtube or tiktok")] = "youtube",
) -> Response:
    data = explore_data(page, topic, platform)
    zone = zone_name(page.web)
    charts = figures(data, local_zone(page.web), zone) if not page.wants_json and data["points"] else {}
    return render(page, "explore.html", data, figures=charts)
