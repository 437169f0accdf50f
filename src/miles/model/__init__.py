"""Models, baselines, artifacts and evaluation (DESIGN.md §3.4). Heavy ML libraries live only here."""
