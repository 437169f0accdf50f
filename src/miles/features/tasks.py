"""The two prediction tasks and when a feature becomes known (DESIGN.md §3.1).

Kept apart from :mod:`miles.features.schema` so that the guarded context, which schema's feature groups
compute from, can name the task without importing schema (no import cycle inside ``miles.features``).
"""

from __future__ import annotations

from typing import Literal

Task = Literal["prepublish", "early"]
Availability = Literal["prepublish", "early"]
TASKS: tuple[Task, ...] = ("prepublish", "early")
