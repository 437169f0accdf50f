"""Comparing the forecast made before publishing with the views that arrived (the check the Track page, its JSON
twin and the MCP tool ``tracked_videos`` show)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from miles.domain import RATIO_DECIMALS, VIEW_DECIMALS
from miles.inputs import round_half_up

FAR_OFF = 10.0  # a forecast this many times off (either way) gets a remark


def _p50_at(horizons: Sequence[dict[str, Any]], age_h: float) -> dict[str, float] | None:
    """The forecast at ``age_h``: a horizon's own numbers, or log-log interpolation between the two around it;
    None outside the horizons (no extrapolation)."""
    hs = sorted(horizons, key=lambda h: h["horizon_h"])
    for h in hs:
        if math.isclose(h["horizon_h"], age_h, rel_tol=0.05):
            return {k: float(h[k]) for k in ("p10", "p50", "p90")}
    for lo, hi in itertools.pairwise(hs):
        if lo["horizon_h"] < age_h < hi["horizon_h"]:
            t = math.log(age_h / lo["horizon_h"]) / math.log(hi["horizon_h"] / lo["horizon_h"])
            return {
                k: math.expm1(math.log1p(lo[k]) + t * (math.log1p(hi[k]) - math.log1p(lo[k])))
                for k in ("p10", "p50", "p90")
            }
    return None


def forecast_check(horizons: Sequence[dict[str, Any]], age_h: float, views: int) -> dict[str, Any] | None:
    """How far the forecast made before publishing was from the views at ``age_h``: the forecast there, the
    ratio, whether the views fell inside its 80 % range, and a remark when it was far off."""
    at = _p50_at(horizons, age_h)
    if at is None or at["p50"] <= 0:
        return None
    ratio = max(views, 1) / max(at["p50"], 1.0)
    inside = at["p10"] <= views <= at["p90"]
    # the factor as shown ("10× more" for 9.96, which read "10.0× more" without the far-off remark 10× gets)
    factor = ratio if ratio >= 1 else 1 / ratio
    shown = float(f"{factor:.1f}") if factor < 9.95 else float(round(factor))
    if 1 / 1.1 <= ratio <= 1.1:  # "1.0× fewer" read as a miss
        off = "about as forecast"
    else:
        off = (f"{shown:.1f}×" if shown < 10 else f"{shown:,.0f}×") + (" more" if ratio >= 1 else " fewer")
    remark = None
    if shown >= FAR_OFF:
        where = "outside its 80 % range" if not inside else "though inside its 80 % range, a wide one"
        remark = (
            f"The forecast made before publishing was far off ({off} than expected, {where}). "
            "Something the model cannot see (the topic, the hook, the feed) made the difference; from now on "
            "the forecast uses the views that arrived."
        )
    elif not inside:
        remark = (
            "Outside the forecast's 80 % range: this video is doing "
            + ("better" if ratio > 1 else "worse")
            + (" than the model expected for a draft like it.")
        )
    return {
        "age_h": age_h,
        "views": views,
        **{f"forecast_{k}": round_half_up(at[k], VIEW_DECIMALS) for k in ("p10", "p50", "p90")},
        "ratio": round(ratio, RATIO_DECIMALS),  # the Track page's JSON twin gives it as the API does
        "off": off,
        "inside_interval": inside,
        "remark": remark,
    }
