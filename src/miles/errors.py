"""Errors that say whose fault they are (STYLE.md habit 7).

``expected=True`` means the user can fix it (bad input, missing file, service down):
the CLI prints one red line and the API answers with ``status``. Anything else is a bug.
"""

from __future__ import annotations

from typing import Any, Self


class MilesError(Exception):
    """Base error. ``code`` is a stable machine-readable name for the API envelope."""

    code = "error"
    default_status = 400

    def __init__(
        self,
        message: str,
        *,
        expected: bool = True,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.status = status if status is not None else self.default_status
        self.details = details

    @classmethod
    def at(cls, field: str, problem: str, *, status: int | None = None, **extra: Any) -> Self:
        """An error about one input: the message names ``field``, the details list it with ``problem`` (and any
        ``extra`` figures, e.g. the limit it broke), the shape every API error detail has."""
        return cls(f"{field}: {problem}", status=status, details=[{"field": field, "message": problem, **extra}])


class InvalidInput(MilesError):
    code = "invalid_input"
    default_status = 422


class NotFound(MilesError):
    code = "not_found"
    default_status = 404


class Unauthorized(MilesError):
    code = "unauthorized"
    default_status = 401


class Forbidden(MilesError):
    code = "forbidden"
    default_status = 403


class RateLimited(MilesError):
    code = "rate_limited"
    default_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class PayloadTooLarge(MilesError):
    code = "payload_too_large"
    default_status = 413


class SourceUnavailable(MilesError):
    """A remote source (YouTube, a thumbnail host, an LLM) failed or refused."""

    code = "source_unavailable"
    default_status = 502


class FetchRefused(MilesError):
    """The safe fetcher refused a URL or a response (host, scheme, address, size, pixels)."""

    code = "fetch_refused"
    default_status = 422


class ModelNotReady(MilesError):
    code = "model_not_ready"
    default_status = 503


class NoPlatformModel(MilesError):
    """No model has learnt from this platform yet (a TikTok draft is never given a YouTube forecast)."""

    code = "no_platform_model"
    default_status = 409


class ConfigError(MilesError):
    code = "config_error"
    default_status = 500


class LeakageError(MilesError):
    """A feature tried to read data not known at its ``as_of`` time, or in the wrong task mode."""

    code = "leakage"
    default_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message, expected=False)


class WorkerStopping(BaseException):
    """The worker was asked to stop (SIGTERM): a job ends at its next safe point. Not an ``Exception``, so the
    code that records a failure does not catch it, and it is not a failure."""
