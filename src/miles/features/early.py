"""Early signal at the indicator age t_i: views known by ``as_of`` (task ``early`` only).

Vectorised over the guarded context (``_compute``, training) and per video (:func:`row`, drafts, whose own
early views are their only snapshots), side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import DraftRows, Feature, FeatureGroup

DEPTH = 4  # the latest snapshot and up to three before it -> three increments
MIN_AGE_H = 1.0 / 60.0


def _matrix(hist: pd.DataFrame, column: str, keys: pd.Index) -> np.ndarray:
    wide = hist.pivot(index="key", columns="lag", values=column).reindex(index=keys, columns=range(DEPTH))
    out: np.ndarray = wide.to_numpy(dtype=float)
    return out


def _compute(ctx: FeatureContext) -> pd.DataFrame:
    keys = ctx.keys
    hist = ctx.video_history(depth=DEPTH)
    views = _matrix(hist, "views", keys.index)
    ages = _matrix(hist, "age_h", keys.index)
    n_visible = hist.loc[hist["lag"] == 0].set_index("key")["n_visible"].reindex(keys.index).to_numpy(dtype=float)
    # The publish moment is a known point (age 0, 0 views) right before the first snapshot.
    first_missing = np.where(np.isnan(views), np.arange(DEPTH)[None, :], DEPTH).min(axis=1)
    rows = np.arange(len(keys))
    at_publish = (first_missing < DEPTH) & (n_visible == first_missing)
    views_ext = np.concatenate([views, np.full((len(keys), 1), np.nan)], axis=1)
    ages_ext = np.concatenate([ages, np.full((len(keys), 1), np.nan)], axis=1)
    views_ext[rows[at_publish], first_missing[at_publish]] = 0.0
    ages_ext[rows[at_publish], first_missing[at_publish]] = 0.0
    inc = views_ext[:, :-1] - views_ext[:, 1:]
    dt = ages_ext[:, :-1] - ages_ext[:, 1:]
    t_i = (keys["as_of"] - keys["published_at"]).dt.total_seconds().to_numpy() / 3600.0
    age0 = ages[:, 0]
    out = pd.DataFrame(
        {
            "early_t_i_h": t_i,
            "early_log_t_i_h": np.log1p(t_i),
            "early_views": views[:, 0],
            "early_log_views": np.log1p(views[:, 0]),
            "early_snapshot_age_h": age0,
            "early_staleness_h": t_i - age0,
            "early_log_views_per_hour": np.log1p(views[:, 0] / np.maximum(age0, MIN_AGE_H)),
            "early_n_snapshots": np.nan_to_num(n_visible, nan=0.0),
            "early_log_rate_1": np.log1p(np.clip(inc[:, 0], 0, None) / np.maximum(dt[:, 0], MIN_AGE_H)),
        },
        index=keys.index,
    )
    for k in range(DEPTH - 1):
        out[f"early_inc_{k + 1}"] = inc[:, k]
        out[f"early_dt_{k + 1}_h"] = dt[:, k]
    return ctx.expand_keys(out)


def row(views_by_age: Sequence[tuple[float, float]]) -> list[float]:
    """One video's values from its (age in hours, views) snapshots, all visible at t_i (the latest age)."""
    ordered = sorted(views_by_age)[::-1][:DEPTH]  # lag 0 = latest
    views = np.full(DEPTH + 1, np.nan)
    ages = np.full(DEPTH + 1, np.nan)
    views[: len(ordered)] = [v for _, v in ordered]
    ages[: len(ordered)] = [a for a, _ in ordered]
    if len(views_by_age) < DEPTH:  # the publish moment (age 0, 0 views) right before the first snapshot
        views[len(views_by_age)] = ages[len(views_by_age)] = 0.0
    inc, dt = views[:-1] - views[1:], ages[:-1] - ages[1:]
    t_i, age0 = ages[0], ages[0]
    out = [t_i, np.log1p(t_i), views[0], np.log1p(views[0]), age0, t_i - age0,
           np.log1p(views[0] / max(age0, MIN_AGE_H)), float(len(views_by_age)),
           np.log1p(max(inc[0], 0.0) / max(dt[0], MIN_AGE_H))]  # fmt: skip
    for k in range(DEPTH - 1):
        out += [inc[k], dt[k]]
    return [float(v) for v in out]


def reaged(columns: Mapping[str, np.ndarray], factor: np.ndarray) -> dict[str, np.ndarray]:
    """The early columns among ``columns`` for the same views read at ``factor`` times every snapshot's age: each age
    and interval scaled, the counts kept, the rates and logs derived from them as ``_compute`` derives them."""
    out = {name: columns[name] * factor for name in _AGE_COLUMNS if name in columns}
    if "early_t_i_h" in out and "early_log_t_i_h" in columns:
        out["early_log_t_i_h"] = np.log1p(out["early_t_i_h"])
    if {"early_views", "early_snapshot_age_h", "early_log_views_per_hour"} <= columns.keys():
        age = np.maximum(out["early_snapshot_age_h"], MIN_AGE_H)
        out["early_log_views_per_hour"] = np.log1p(columns["early_views"] / age)
    if {"early_inc_1", "early_dt_1_h", "early_log_rate_1"} <= columns.keys():
        rate = np.clip(columns["early_inc_1"], 0, None) / np.maximum(out["early_dt_1_h"], MIN_AGE_H)
        out["early_log_rate_1"] = np.log1p(rate)
    return out


def snapshot_ages(ages_h: Sequence[float]) -> list[float]:
    """Ages in hours as a snapshot's age is computed: whole microseconds after publish, in hours."""
    micros = [round(a * 3_600_000_000) for a in ages_h]
    ages = pd.Series(np.array(micros, dtype="timedelta64[us]")).dt.total_seconds().to_numpy() / 3600.0
    return [float(a) for a in ages]


def _per_row(rows: DraftRows) -> dict[str, np.ndarray]:
    per_draft = []
    for d in rows.drafts:
        ages = snapshot_ages([a for a, _ in d.early_views])
        per_draft.append(row(list(zip(ages, [float(v) for _, v in d.early_views], strict=True))))
    values = np.array(per_draft, dtype=float).reshape(len(per_draft), -1)
    return {name: values[rows.draft, j] for j, name in enumerate(GROUP.names)}


_AGE_COLUMNS = ("early_t_i_h", "early_snapshot_age_h", "early_staleness_h",
                *(f"early_dt_{k}_h" for k in range(1, DEPTH)))  # fmt: skip
_INCREMENTS = tuple(
    f
    for k in range(1, DEPTH)
    for f in (
        Feature(f"early_inc_{k}", availability="early", doc=f"views gained in the {k}-th latest interval"),
        Feature(f"early_dt_{k}_h", availability="early", doc="length of that interval in hours"),
    )
)
GROUP = FeatureGroup(
    name="early",
    doc="Views observed up to the indicator age t_i (the example's as_of).",
    compute=_compute,
    per_row=_per_row,
    features=(
        Feature("early_t_i_h", availability="early", doc="indicator age t_i = as_of - publish, hours"),
        Feature("early_log_t_i_h", availability="early"),
        Feature("early_views", availability="early", doc="views at the latest snapshot by as_of"),
        Feature("early_log_views", availability="early"),
        Feature("early_snapshot_age_h", availability="early", doc="age of that snapshot"),
        Feature("early_staleness_h", availability="early", doc="t_i minus the age of that snapshot"),
        Feature("early_log_views_per_hour", availability="early", doc="log1p(views / age)"),
        Feature("early_n_snapshots", availability="early", doc="snapshots known by as_of"),
        Feature("early_log_rate_1", availability="early", doc="log1p(views per hour in the latest interval)"),
        *_INCREMENTS,
    ),
)
