"""One typed Settings object (STYLE.md habit 4).

Every setting is read from the environment with the ``MILES_`` prefix (or a ``.env`` file)
and documented by its ``description``; ``tests/test_config.py`` checks the README lists them all.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from miles.errors import ConfigError

DEFAULT_SECRET = "change-me-in-production"
MIN_SECRET_BYTES = 32
DEFAULT_THUMBNAIL_HOSTS = [
    "i.ytimg.com",
    "i1.ytimg.com",
    "i2.ytimg.com",
    "i3.ytimg.com",
    "i4.ytimg.com",
    "i9.ytimg.com",
    "img.youtube.com",
    "yt3.ggpht.com",
    # TikTok covers come from numbered CDN hosts (p16-sign-va.tiktokcdn.com, p19-....tiktokcdn-us.com, ...)
    "*.tiktokcdn.com",
    "*.tiktokcdn-us.com",
    "*.tiktokcdn-eu.com",
]


def _default_data_dir() -> Path:
    return Path(user_data_dir("miles", appauthor=False))


def _default_cache_dir() -> Path:
    return Path(user_cache_dir("miles", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MILES_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development",
        description="Run mode (`development`, `test`, `production`); production refuses default secrets.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="Where the SQLite database and raw payload archive live."
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where ONNX encoders are built and cached.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite at `<data_dir>/miles.db`. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`, the role that owns the tables: migrations, the CLI and "
        "the worker connect with it.",
    )
    app_database_url: str = Field(
        "",
        description="PostgreSQL URL `miles serve` and `miles mcp` connect with: a login role that owns no tables, "
        "so row-level security binds (`miles db upgrade` creates or checks it and grants it table access); empty: "
        "they use MILES_DATABASE_URL and act as MILES_DB_APP_ROLE (SET ROLE).",
    )
    db_app_role: str = Field(
        "miles_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL role the web app and MCP server act as when MILES_APP_DATABASE_URL is empty; "
        "`miles db upgrade` creates it (NOLOGIN, owns nothing, no BYPASSRLS) and grants it table access.",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET),
        description="Signs session cookies; production needs a random value of at least 32 bytes.",
    )
    host: str = Field("127.0.0.1", description="Address `miles serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `miles serve` listens on.")
    allow_anonymous: bool = Field(
        True, description="Allow predictions and ideas without an API key (on for local use)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (addresses or CIDR networks, as a JSON list) whose X-Forwarded-For and "
        "X-Forwarded-Proto `miles serve` trusts; empty trusts none, so the client address is the peer's.",
    )
    rate_limit_per_minute: int = Field(
        120, ge=1, description="Requests per minute per API key (or per IP when anonymous)."
    )
    login_attempts_per_account: int = Field(
        5,
        ge=1,
        description="Failed logins in a row one account may have before it is locked (30 s, doubling with each "
        "further failure up to 15 min; the right password is refused too while locked).",
    )
    login_attempts_per_address: int = Field(
        20,
        ge=1,
        description="Failed logins (any accounts) one client address may have before it is locked the same way; "
        "a success does not clear it, an hour without failures does.",
    )
    max_body_bytes: int = Field(8_000_000, ge=1024, description="Largest accepted request body.")
    max_image_bytes: int = Field(5_000_000, ge=1024, description="Largest accepted thumbnail, upload or download.")
    max_image_pixels: int = Field(
        20_000_000, ge=1, description="Largest thumbnail size in pixels (decompression-bomb guard)."
    )
    batch_max_items: int = Field(1000, ge=1, description="Most drafts accepted by `POST /predict/batch`.")
    max_rows_per_request: int = Field(
        2000,
        ge=1,
        description="Most rows one request may have scored (each draft and each of its variants is a row); "
        "every 50 rows also take one more token from the caller's rate limit.",
    )
    max_thumbnail_fetches: int = Field(
        20, ge=0, description="Most thumbnail URLs one request may ask the server to fetch (each takes a token)."
    )
    thumbnail_deadline_s: float = Field(
        20.0, gt=0, description="Overall time one request may spend fetching its thumbnail URLs."
    )
    thumbnail_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_THUMBNAIL_HOSTS),
        description="Hosts thumbnails may be fetched from (HTTPS only), as a JSON list; `*.example.com` allows "
        "every subdomain of example.com.",
    )
    fetch_timeout_s: float = Field(10.0, gt=0, description="Timeout for each outbound HTTP request.")
    model_dir: Path | None = Field(
        None,
        description="Model artifact directory to serve; empty means the promoted model, else the packaged default.",
    )
    broker_url: str = Field(
        "", description="Celery broker (e.g. `redis://127.0.0.1:6379/0`); empty runs jobs in-process."
    )
    redis_url: str = Field(
        "",
        description="Redis (e.g. `redis://127.0.0.1:6379/1`) holding the rate limits and login lockouts shared by "
        "every server process; empty: the broker URL when it is Redis, else each process keeps its own.",
    )
    llm_base_url: str = Field(
        "", description="OpenAI-compatible API base URL for idea generation; empty uses the offline generator."
    )
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for the LLM endpoint.")
    llm_model: str = Field("", description="Model name to ask the LLM endpoint for.")
    llm_timeout_s: float = Field(30.0, gt=0, description="Timeout for one LLM request.")
    collect_delay_s: float = Field(1.0, ge=0, description="Pause between requests to YouTube while collecting.")
    collect_retries: int = Field(3, ge=0, description="Retries with backoff for transient collection errors.")
    niches: list[str] = Field(
        default_factory=lambda: ["cooking shorts", "tech shorts", "fitness shorts"],
        description="Search queries `miles collect niches` and the worker collect, as a JSON list.",
    )
    track_schedule_h: list[float] = Field(
        default_factory=lambda: [1.0, 3.0, 6.0, 24.0, 72.0, 168.0],
        description="Re-poll ages in hours after a video is found, as a JSON list.",
    )
    ideas_cache_ttl_s: int = Field(6 * 3600, ge=0, description="How long an ideas result is reused.")
    fresh_window_h: float = Field(6.0, gt=0, description="Candidates collected within this many hours count as fresh.")
    min_fresh_candidates: int = Field(
        20, ge=0, description="Collect more when fewer fresh niche videos than this exist."
    )
    job_lock_ttl_s: float = Field(
        120.0,
        gt=0,
        description="A job lock whose heartbeat (every quarter of this) is older than this is taken over.",
    )
    max_queued_collections: int = Field(
        5,
        ge=1,
        description="Collection requests one caller (a user, or an address when anonymous) may have waiting for "
        "the worker; /ideas and unknown channels queue no more until some finish.",
    )
    retrain_interval_h: float = Field(
        168.0, gt=0, description="How often the worker trains a challenger on the store (hours; weekly by default)."
    )
    quality_stale_h: float = Field(
        24.0, gt=0, description="`miles quality` flags a configured niche with no capture for this many hours."
    )
    log_level: str = Field("INFO", description="Logging level.")
    _acts_as: str = PrivateAttr(default="")

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, proxies: list[str]) -> list[str]:
        cleaned = [p.strip() for p in proxies if p.strip()]
        for proxy in cleaned:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or CIDR network") from None
        return cleaned

    @field_validator("thumbnail_hosts")
    @classmethod
    def _lower_hosts(cls, hosts: list[str]) -> list[str]:
        cleaned = [h.strip().lower() for h in hosts if h.strip()]
        for host in cleaned:
            # a wildcard only as a whole first label, over a domain of at least two labels (never "*" or "*.com")
            if "*" in host and not (host.startswith("*.") and "*" not in host[2:] and host.count(".") >= 2):
                raise ValueError(f"thumbnail host {host!r}: a wildcard must look like *.example.com")
        return cleaned

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("MILES_SECRET_KEY still has its default value; set a real secret for production")
        if self.env == "production" and len(self.secret_key.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"MILES_SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes; production needs a long random secret "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'miles.db'}"

    def for_app(self) -> Settings:
        """These settings as the web app and MCP server use them: on PostgreSQL, connected as the application role
        (MILES_APP_DATABASE_URL, or MILES_DATABASE_URL with SET ROLE MILES_DB_APP_ROLE), so row-level security
        binds every query; SQLite is unchanged."""
        if not self.sqlalchemy_url.startswith("postgresql"):
            return self
        app = self.model_copy(update={"database_url": self.app_database_url or self.database_url})
        app._acts_as = "" if self.app_database_url else self.db_app_role
        return app

    @property
    def engine_role(self) -> str:
        """The role every connection switches to (SET ROLE), or "" to stay the URL's role."""
        return self._acts_as

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"


def _problem(err: Any) -> str:
    """One validation error as "MILES_NAME: what is wrong"; a check across settings names them in its message."""
    message = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:
        return message
    return f"MILES_{'_'.join(str(p) for p in err['loc']).upper()}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Build and validate settings; a bad value becomes one clear ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting: the README table is built from it."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        if isinstance(default, SecretStr):
            default = "(secret)" if default.get_secret_value() else ""
        if name in ("data_dir", "cache_dir"):
            default = f"user {name.split('_')[0]} dir (platformdirs)"
        rows.append((f"MILES_{name.upper()}", "" if default is None else str(default), field.description or ""))
    return rows
