"""What a feature is: name, dtype, the task mode in which it is known, and the group that computes it.

``FEATURE_VERSION`` changes whenever a feature's definition changes; artifacts record it and the
loader refuses a model built on another version (STYLE.md habit 8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from miles.features.context import FeatureContext

FEATURE_VERSION = "2"

Task = Literal["prepublish", "early"]
Availability = Literal["prepublish", "early"]
Dtype = Literal["float", "category"]
TASKS: tuple[Task, ...] = ("prepublish", "early")

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


@dataclass(frozen=True)
class FeatureGroup:
    """Features computed together by one function from a guarded :class:`FeatureContext`.

    ``compute`` must return a frame with exactly the group's feature columns, indexed like
    ``ctx.examples``. The group's availability is the latest availability of its features.
    """

    name: str
    features: tuple[Feature, ...]
    compute: Callable[[FeatureContext], pd.DataFrame]
    doc: str = ""
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
