"""`miles serve`: the web app and JSON API under uvicorn, in one process or several (``--workers``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from miles.cli.state import STATE
from miles.config import Settings

APP_FACTORY = "miles.serve.app:create_app"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def uvicorn_options(settings: Settings, host: str | None, port: int | None) -> dict[str, Any]:
    """Forwarded headers only from MILES_TRUSTED_PROXIES: uvicorn's own default trusts X-Forwarded-For from
    127.0.0.1, which let any local client pick its address and escape the per-address rate limit."""
    proxies = settings.trusted_proxies
    return {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": "info",
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
        "server_header": False,
    }


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default MILES_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MILES_PORT, 8000).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes. Above 1, rate limits and login lockouts are shared only through Redis "
            "(MILES_REDIS_URL); without it each process keeps its own.",
        ),
    ] = 1,
) -> None:
    """Start the web app and JSON API (docs at /docs)."""
    import uvicorn

    from miles.serve.app import create_app
    from miles.store import migrate

    settings = STATE.settings
    migrate.require_current(settings)
    options = uvicorn_options(settings, host, port)
    if workers > 1:  # each process builds the app from the same MILES_ settings
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
