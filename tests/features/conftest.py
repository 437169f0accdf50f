"""Fixtures shared by the feature tests."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from miles.features.context import FeatureContext
from miles.features.registry import register_group, unregister_group
from miles.features.schema import Feature, FeatureGroup


def _read_extra(ctx: FeatureContext) -> pd.DataFrame:
    per_video = pd.DataFrame({c: pd.to_numeric(ctx.videos[c]) for c in ("extra_a", "extra_b")}, index=ctx.videos.index)
    return ctx.expand_videos(per_video)


@pytest.fixture
def extra_group() -> Iterator[str]:
    """A registered group without a per-row form, reading the ``extra`` columns ``extra_a`` and ``extra_b``
    attached before feature building (as the model's title embeddings are)."""
    register_group(FeatureGroup("test_extra", (Feature("extra_a"), Feature("extra_b")), _read_extra), replace=True)
    yield "test_extra"
    unregister_group("test_extra")
