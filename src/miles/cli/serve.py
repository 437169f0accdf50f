"""`miles serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.state import STATE


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default MILES_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MILES_PORT, 8000).")] = None,
) -> None:
    """Start the web app and JSON API (docs at /docs)."""
    import uvicorn

    from miles.serve.app import create_app

    settings = STATE.settings
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")
