"""`miles history`: a user's scored drafts (what `GET /api/v1/history` and the History page show), for an operator
of a local install."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from miles.cli.state import STATE
from miles.inputs import format_chance, format_forecast_range, format_forecast_views

if TYPE_CHECKING:
    from miles.serve.schemas import HistoryItemOut

console = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the page as JSON (as GET /api/v1/history).")]


def register(app: typer.Typer) -> None:
    app.command("history")(history_cmd)


def history_cmd(
    user: Annotated[str, typer.Option("--user", help="Whose scored drafts (the account's e-mail).")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="Drafts per page.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Drafts to skip (newest first).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """A user's scored drafts, newest first.

    Each with its title, the 7-day forecast it got, its viral chance and the published video it is linked to (graded
    as that video's views arrive)."""
    from miles.serve.services.history import history_page
    from miles.store.db import session_scope
    from miles.store.repos.users import require_user, set_current_user

    with session_scope(STATE.settings) as session:
        user_id = require_user(session=session, email=user).id
        set_current_user(session=session, user_id=user_id)  # PostgreSQL: the rows are the user's
        page = history_page(session=session, user_id=user_id, limit=limit, offset=offset)
    if as_json:
        typer.echo(json.dumps(page.model_dump(mode="json"), indent=2))
        return
    if not page.items:
        console.print(f"no scored drafts{' here' if page.total else ''} for {user} ({page.total} in all)")
        return
    console.print(f"scored drafts {offset + 1}-{offset + len(page.items)} of {page.total} ({user}), newest first:")
    for item in page.items:  # a line each: a table left no room for the title at 80 columns
        console.print(_line(item), highlight=False, markup=False)  # a title may hold [brackets]
    if page.next_offset is not None:
        console.print(f"more: miles history --user {user} --offset {page.next_offset}", highlight=False)


def _line(item: HistoryItemOut) -> str:
    """'#2 2026-12-06 23:34 "Sourdough in 30 days": 7 d 254 views (21-2,486), viral 13 %; linked to u3lhgBUyG2E'."""
    prediction = (item.outputs or {}).get("prediction") or {}
    head = f'#{item.id} {item.created_at:%Y-%m-%d %H:%M} "{item.inputs.get("title", "")}"'
    week = next((h for h in prediction.get("horizons", []) if h.get("horizon_h") == 168.0), None)
    forecast = (
        [f"7 d {format_forecast_views(week['p50'], noun=True)} ({format_forecast_range(week['p10'], week['p90'])})"]
        if week
        else []
    )
    if isinstance(chance := prediction.get("viral_probability"), int | float):
        forecast.append(f"viral {format_chance(chance)}")
    if prediction.get("mode") == "early":
        forecast.append("from its views so far")
    linked = f"; linked to {item.video_id}" if item.video_id else ""
    return f"{head}: {', '.join(forecast) or 'no forecast'}{linked}"
