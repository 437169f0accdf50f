"""What drove a forecast, in a creator's words: the factor each input multiplies the views by, not log units."""

from __future__ import annotations

import math

import pytest

from miles.model.predict import effect_multiple


@pytest.mark.parametrize(
    ("contribution", "shown"),
    [(0.0, "×1.0"), (math.log(2.1), "×2.1"), (-math.log(2.1), "÷2.1"), (-3.65, "÷38"), (math.log(1234.4), "×1,234")],
)
def test_a_contribution_reads_as_the_factor_it_multiplies_views_by(contribution: float, shown: str) -> None:
    assert effect_multiple(contribution) == shown
