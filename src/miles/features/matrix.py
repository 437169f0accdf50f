"""The per-row path's feature matrix: drafts without stored channel history, straight from their fields.

Each built-in group's ``per_row`` form (beside its vectorised ``compute`` in the group's own module) gives its
columns; a group without one takes its values from ``extra`` columns when all its features are there. Values
are encoded as :class:`~miles.features.draft.DraftMatrix` holds them (floats; category columns as the index
of the value in the feature's categories, NaN when missing or unknown). When a group has neither, or its
per-row form does not return the group's columns, :func:`per_row_values` returns None and the caller uses
the reference path (``build_features``), which always applies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from miles.features.schema import DraftRows, FeatureGroup

log = logging.getLogger(__name__)


def _encode(group: FeatureGroup, columns: Mapping[str, Any], n: int) -> np.ndarray:
    block = np.empty((n, len(group.features)), dtype=np.float64)
    for j, feat in enumerate(group.features):
        col = columns[feat.name]
        if feat.dtype == "category":
            index = {c: float(i) for i, c in enumerate(feat.categories)}
            block[:, j] = [index.get(v, np.nan) if isinstance(v, str) else np.nan for v in col]
        elif isinstance(col, np.ndarray) and col.dtype != object:
            block[:, j] = col
        else:
            block[:, j] = pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype=float)
    return block


def _columns(group: FeatureGroup, rows: DraftRows, extra: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if group.per_row is not None:
        columns = group.per_row(rows)
        if tuple(columns) == group.names:
            return columns
        log.warning("feature group %r: per-row columns differ from its features; drafts use the reference path",
                    group.name)  # fmt: skip
        return None
    if extra is not None and all(n in extra for n in group.names):
        return {n: np.asarray(extra[n])[rows.draft] for n in group.names}
    return None


def per_row_values(
    rows: DraftRows, groups: Sequence[FeatureGroup], extra: pd.DataFrame | Mapping[str, Any] | None
) -> np.ndarray | None:
    """The encoded values of every group for ``rows`` (columns in group order), or None (reference path)."""
    blocks = []
    for group in groups:
        columns = _columns(group, rows, extra)
        if columns is None:
            return None
        blocks.append(_encode(group, columns, len(rows.draft)))
    return np.concatenate(blocks, axis=1)
