"""What a feature is: name, dtype, the task mode in which it is known, and the group that computes it.

``FEATURE_VERSION`` changes whenever a feature's definition changes; artifacts record it and the
loader refuses a model built on another version (STYLE.md habit 8).

A group has one definition in its own module, in up to two forms side by side: ``compute`` (vectorised, over
the guarded :class:`~miles.features.context.FeatureContext`; training and the reference path) and, where
serving speed needs it, ``per_row`` (straight from the fields of drafts that have no stored channel history,
:class:`DraftRows`). ``tests/features/test_draft_parity.py`` checks that both give identical values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.tasks import TASKS, Availability, Task

__all__ = [
    "AGE_EDGES_H",
    "FEATURE_VERSION",
    "SUBSCRIBER_EDGES",
    "TASKS",
    "Availability",
    "DraftFields",
    "DraftRows",
    "Dtype",
    "Feature",
    "FeatureGroup",
    "Task",
    "age_bucket",
    "coerce",
    "subscriber_bucket",
]

FEATURE_VERSION = "3"

Dtype = Literal["float", "category"]

# Hours since publish; "comparable age" and the label's expectation model use these buckets.
AGE_EDGES_H: tuple[float, ...] = (0.0, 1.0, 3.0, 6.0, 12.0, 24.0, 48.0, 96.0, 168.0, 336.0, 720.0, 2160.0, 8760.0)
# Channel size buckets (subscribers); bucket 0 means unknown.
SUBSCRIBER_EDGES: tuple[float, ...] = (0.0, 1e3, 1e4, 1e5, 1e6)


def age_bucket(age_h: pd.Series | np.ndarray) -> np.ndarray:
    """Index of the age bucket (0 = under 1 h, ..., last = over a year)."""
    values = np.asarray(age_h, dtype=float)
    return np.searchsorted(np.asarray(AGE_EDGES_H[1:]), values, side="right").astype(np.int64)


def subscriber_bucket(log_subscribers: pd.Series | np.ndarray) -> np.ndarray:
    """0 = unknown, 1 = under 1k, 2 = 1k-10k, ... (input is log1p(subscribers))."""
    values = np.expm1(np.asarray(log_subscribers, dtype=float))
    buckets = np.searchsorted(np.asarray(SUBSCRIBER_EDGES[1:]), values, side="right") + 1
    return np.where(np.isnan(values), 0, buckets).astype(np.int64)


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: Dtype = "float"
    availability: Availability = "prepublish"
    categories: tuple[str, ...] = ()
    doc: str = ""


class DraftFields(Protocol):
    """What a draft (a video not in the store) says about itself: the fields a group's ``per_row`` form reads."""

    @property
    def title(self) -> str: ...
    @property
    def publish_at(self) -> datetime: ...
    @property
    def description(self) -> str | None: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def duration_s(self) -> float | None: ...
    @property
    def category_id(self) -> int | None: ...
    @property
    def channel_subscribers(self) -> float | None: ...
    @property
    def country(self) -> str | None: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def early_views(self) -> Sequence[tuple[float, float]]: ...


@dataclass(frozen=True)
class DraftRows:
    """The (draft, asked-about age) rows of drafts without stored channel history, as ``per_row`` reads them.

    A draft's own early views are its only snapshots and its subscriber count is observed at publish.
    """

    drafts: Sequence[DraftFields]
    draft: np.ndarray  # index into ``drafts`` of each row
    age_h: np.ndarray  # asked-about age of each row

    def per_draft(self, names: tuple[str, ...], values: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
        """Columns by name from one tuple of values per draft (in ``names`` order), repeated for its rows."""
        out = {}
        for j, name in enumerate(names):
            column = [v[j] for v in values]
            text = any(isinstance(x, str) for x in column)
            out[name] = np.asarray(column, dtype=object if text else None)[self.draft]
        return out


@dataclass(frozen=True)
class FeatureGroup:
    """Features computed together by one function from a guarded :class:`FeatureContext`.

    ``compute`` must return a frame with exactly the group's feature columns, indexed like
    ``ctx.examples``. ``per_row`` (optional) returns the same columns, one value per row of
    :class:`DraftRows`; a group without it (e.g. one reading ``extra`` columns) is served by the reference
    path. The group's availability is the latest availability of its features.
    """

    name: str
    features: tuple[Feature, ...]
    compute: Callable[[FeatureContext], pd.DataFrame]
    doc: str = ""
    per_row: Callable[[DraftRows], dict[str, np.ndarray]] | None = None
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(f.name for f in self.features))

    @property
    def availability(self) -> Availability:
        return "early" if any(f.availability == "early" for f in self.features) else "prepublish"


def coerce(frame: pd.DataFrame, features: tuple[Feature, ...]) -> pd.DataFrame:
    """Cast computed columns to their declared dtype (floats, or categoricals with fixed categories)."""
    out = {}
    for feat in features:
        col = frame[feat.name]
        if feat.dtype == "category":
            text = col.astype("string")
            out[feat.name] = pd.Categorical(text.where(text.isin(feat.categories)), categories=list(feat.categories))
        else:
            out[feat.name] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    return pd.DataFrame(out, index=frame.index)
