"""Publish timing (UTC and the channel country's local time), video format, and the asked-about age."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import Feature, FeatureGroup

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


def _horizon(ctx: FeatureContext) -> pd.DataFrame:
    age = ctx.examples["age_h"].astype(float)
    return pd.DataFrame({"age_h": age, "log_age_h": np.log1p(age)}, index=ctx.examples.index)


CATEGORIES = tuple(str(i) for i in range(1, 45))
TIMING = FeatureGroup(
    name="timing",
    doc="Planned publish time in UTC and in the channel country's local time (where the country is known).",
    compute=_timing,
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
    features=(Feature("age_h"), Feature("log_age_h")),
)
