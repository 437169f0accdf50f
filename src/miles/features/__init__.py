"""Leak-free features, labels, datasets and splits (DESIGN.md §3)."""
