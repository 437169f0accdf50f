"""Recommendations: niche candidates, age-normalised outliers, patterns with effect sizes, scored ideas."""
