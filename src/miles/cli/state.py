"""Process-wide CLI state (the --debug flag) and the validated settings."""

from __future__ import annotations

from dataclasses import dataclass

from miles.config import Settings, get_settings


@dataclass
class CliState:
    debug: bool = False

    @property
    def settings(self) -> Settings:
        return get_settings()


STATE = CliState()
