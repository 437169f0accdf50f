"""Publish timing (UTC and the channel country's local time), video format, and the asked-about age.

Each group has its vectorised form (``_timing``, ``_video``, ``_horizon``, for training) and, beside it, its
per-row form for drafts (``timing_row``, ``_video_rows``, ``_horizon_rows``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import DraftRows, Feature, FeatureGroup

# One representative time zone per country (the most populous zone where a country has several).
COUNTRY_TZ: dict[str, str] = {
    "US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City", "BR": "America/Sao_Paulo",
    "AR": "America/Argentina/Buenos_Aires", "CO": "America/Bogota", "CL": "America/Santiago", "PE": "America/Lima",
    "GB": "Europe/London", "IE": "Europe/Dublin", "FR": "Europe/Paris", "BE": "Europe/Brussels",
    "CH": "Europe/Zurich", "DE": "Europe/Berlin", "AT": "Europe/Vienna", "NL": "Europe/Amsterdam",
    "LU": "Europe/Luxembourg", "IT": "Europe/Rome", "ES": "Europe/Madrid", "PT": "Europe/Lisbon",
    "PL": "Europe/Warsaw", "SE": "Europe/Stockholm", "NO": "Europe/Oslo", "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki", "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "TR": "Europe/Istanbul",
    "GR": "Europe/Athens", "RO": "Europe/Bucharest", "CZ": "Europe/Prague", "HU": "Europe/Budapest",
    "IN": "Asia/Kolkata", "PK": "Asia/Karachi", "BD": "Asia/Dhaka", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
    "CN": "Asia/Shanghai", "TW": "Asia/Taipei", "HK": "Asia/Hong_Kong", "SG": "Asia/Singapore",
    "ID": "Asia/Jakarta", "TH": "Asia/Bangkok", "VN": "Asia/Ho_Chi_Minh", "PH": "Asia/Manila",
    "MY": "Asia/Kuala_Lumpur", "AE": "Asia/Dubai", "SA": "Asia/Riyadh", "IL": "Asia/Jerusalem",
    "EG": "Africa/Cairo", "NG": "Africa/Lagos", "ZA": "Africa/Johannesburg", "MA": "Africa/Casablanca",
    "DZ": "Africa/Algiers", "TN": "Africa/Tunis", "SN": "Africa/Dakar", "CI": "Africa/Abidjan",
    "AU": "Australia/Sydney", "NZ": "Pacific/Auckland",
}  # fmt: skip
SHORT_MAX_S = 60.0
SHORT_MAX_NEW_S = 180.0  # YouTube accepts Shorts up to 3 minutes since October 2024


def local_times(published_at: pd.Series, country: pd.Series) -> pd.DataFrame:
    """Hour, weekday and weekend in the country's time zone; NaN where the country is unknown."""
    hour = pd.Series(np.nan, index=published_at.index)
    weekday = pd.Series(np.nan, index=published_at.index)
    codes = country.astype("string").str.upper()
    for code, idx in codes.groupby(codes).groups.items():
        zone = COUNTRY_TZ.get(str(code))
        if zone is None:
            continue
        local = published_at.loc[idx].dt.tz_convert(ZoneInfo(zone))
        hour.loc[idx] = local.dt.hour + local.dt.minute / 60.0
        weekday.loc[idx] = local.dt.weekday
    return pd.DataFrame(
        {
            "publish_hour_local": hour,
            "publish_weekday_local": weekday,
            "publish_weekend_local": (weekday >= 5).where(weekday.notna()),
        }
    )


def _timing(ctx: FeatureContext) -> pd.DataFrame:
    videos = ctx.videos
    pub = videos["published_at"]
    utc = pd.DataFrame(
        {
            "publish_hour_utc": pub.dt.hour + pub.dt.minute / 60.0,
            "publish_weekday_utc": pub.dt.weekday,
            "publish_weekend_utc": (pub.dt.weekday >= 5).astype(float),
        }
    )
    per_video = pd.concat([utc, local_times(pub, videos["country"])], axis=1)
    date_only = videos["published_at_is_date_only"].fillna(False).astype(bool)
    per_video.loc[date_only, ["publish_hour_utc", "publish_hour_local"]] = np.nan
    return ctx.expand_videos(per_video)


def _clock(moment: datetime) -> tuple[float, float]:
    return moment.hour + moment.minute / 60.0, float(moment.weekday())


def timing_row(published_at: datetime, country: str | None) -> tuple[float, ...]:
    """One video's ``TIMING`` values (publish time exact to the minute, as a draft's is)."""
    pub = published_at.astimezone(UTC)
    hour, weekday = _clock(pub)
    zone = COUNTRY_TZ.get(country.upper()) if country is not None else None
    if zone is None:
        return hour, weekday, float(weekday >= 5), np.nan, np.nan, np.nan
    local_hour, local_day = _clock(pub.astimezone(ZoneInfo(zone)))
    return hour, weekday, float(weekday >= 5), local_hour, local_day, float(local_day >= 5)


def _timing_rows(rows: DraftRows) -> dict[str, np.ndarray]:
    return rows.per_draft(TIMING.names, [timing_row(d.publish_at, d.country) for d in rows.drafts])


def _video(ctx: FeatureContext) -> pd.DataFrame:
    videos = ctx.videos
    duration = pd.to_numeric(videos["duration_s"], errors="coerce").astype(float)
    per_video = pd.DataFrame(
        {
            "duration_s": duration,
            "log_duration_s": np.log1p(duration),
            "is_short_60s": (duration <= SHORT_MAX_S).astype(float).where(duration.notna()),
            "is_short_180s": (duration <= SHORT_MAX_NEW_S).astype(float).where(duration.notna()),
            "category_id": videos["category_id"].astype("Int64").astype("string"),
        }
    )
    return ctx.expand_videos(per_video)


def _video_rows(rows: DraftRows) -> dict[str, np.ndarray]:
    duration = np.array([np.nan if d.duration_s is None else float(d.duration_s) for d in rows.drafts])
    known = ~np.isnan(duration)
    category = [None if d.category_id is None else str(int(d.category_id)) for d in rows.drafts]
    per_draft = {
        "duration_s": duration,
        "log_duration_s": np.log1p(duration),
        "is_short_60s": np.where(known, (duration <= SHORT_MAX_S).astype(float), np.nan),
        "is_short_180s": np.where(known, (duration <= SHORT_MAX_NEW_S).astype(float), np.nan),
        "category_id": np.asarray(category, dtype=object),
    }
    return {name: values[rows.draft] for name, values in per_draft.items()}


def _horizon(ctx: FeatureContext) -> pd.DataFrame:
    age = ctx.examples["age_h"].astype(float)
    return pd.DataFrame({"age_h": age, "log_age_h": np.log1p(age)}, index=ctx.examples.index)


def _horizon_rows(rows: DraftRows) -> dict[str, np.ndarray]:
    return {"age_h": rows.age_h, "log_age_h": np.log1p(rows.age_h)}


CATEGORIES = tuple(str(i) for i in range(1, 45))
TIMING = FeatureGroup(
    name="timing",
    doc="Planned publish time in UTC and in the channel country's local time (where the country is known).",
    compute=_timing,
    per_row=_timing_rows,
    features=(
        Feature("publish_hour_utc", doc="hour of day (fractional) in UTC; NaN when only the date is known"),
        Feature("publish_weekday_utc", doc="0 = Monday"),
        Feature("publish_weekend_utc"),
        Feature("publish_hour_local", doc="hour of day in the country's main time zone"),
        Feature("publish_weekday_local"),
        Feature("publish_weekend_local"),
    ),
)
VIDEO = FeatureGroup(
    name="video",
    doc="Duration, Shorts-length flags and YouTube category.",
    compute=_video,
    per_row=_video_rows,
    features=(
        Feature("duration_s"),
        Feature("log_duration_s"),
        Feature("is_short_60s", doc="1 if at most 60 s"),
        Feature("is_short_180s", doc="1 if at most 180 s (Shorts limit since 2024)"),
        Feature("category_id", dtype="category", categories=CATEGORIES, doc="YouTube category id"),
    ),
)
HORIZON = FeatureGroup(
    name="horizon",
    doc="The age (hours since publish) the prediction is for; an input, never compared across ages.",
    compute=_horizon,
    per_row=_horizon_rows,
    features=(Feature("age_h"), Feature("log_age_h")),
)
