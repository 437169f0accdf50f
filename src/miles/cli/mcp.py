"""`miles mcp`: the Model Context Protocol server for AI assistants (stdio, or streamable HTTP on loopback)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from miles.cli.state import STATE
from miles.errors import Unauthorized
from miles.store.db import session_scope
from miles.store.repos import users

LOOPBACK = "127.0.0.1"
err_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP on 127.0.0.1 instead of stdio; needs an API key.")
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --http.")] = 8765,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="MILES_API_KEY",
            help="API key of the stdio caller (or set MILES_API_KEY); without one the caller is anonymous.",
        ),
    ] = None,
) -> None:
    """Serve Miles' tools to an assistant over MCP.

    The tools: score_drafts, niche_ideas, track_video, tracked_videos, record_views, link_draft, prediction_history
    and model_card.

    By default speaks MCP on stdin/stdout, for an assistant that starts `miles mcp` itself. With --http it
    listens on http://127.0.0.1:PORT/mcp and every request needs the key as `Authorization: Bearer <key>` or
    `X-API-Key: <key>` (`miles key create`).
    """
    from miles.serve.mcp import MCP_PATH, build_server, http_app
    from miles.store import migrate

    settings = STATE.settings
    migrate.require_current(settings)
    if http:
        import uvicorn

        keys = "key: Authorization: Bearer <key> or X-API-Key: <key>"
        err_console.print(f"Miles MCP server on http://{LOOPBACK}:{port}{MCP_PATH} ({keys})")
        uvicorn.run(http_app(settings, host=LOOPBACK), host=LOOPBACK, port=port, log_level="warning")
        return
    if key is not None:
        with session_scope(settings) as session:
            if users.owner_of_key(session=session, key=key) is None:
                raise Unauthorized(
                    "the API key (--key or MILES_API_KEY) is unknown or revoked; create one with `miles key create`"
                )
    build_server(settings, key=key).run("stdio")
