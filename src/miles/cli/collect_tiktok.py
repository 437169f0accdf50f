"""`miles collect tiktok user|video|tag|search`: the TikTok sources through the same collector as YouTube."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.collect import JsonOpt, LimitOpt, _run_collect
from miles.collect.tiktok import TIKTOK_NO_SEARCH
from miles.domain import is_tiktok_short_link, tiktok_tag_url, tiktok_user_url, tiktok_video_ref
from miles.errors import InvalidInput

tiktok_app = typer.Typer(
    help="Collect TikTok videos with yt-dlp (needs network; stored with platform = tiktok).", no_args_is_help=True
)
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Also re-extract videos already stored.")]


def register(collect_app: typer.Typer) -> None:
    collect_app.add_typer(tiktok_app, name="tiktok")


@tiktok_app.command("user")
def user_cmd(
    user: Annotated[str, typer.Argument(help="@name or https://www.tiktok.com/@name")],
    limit: LimitOpt = 30,
    refresh: RefreshOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Collect a TikTok user's newest posts (their counts come with the listing: one request per page)."""
    url = tiktok_user_url(user)
    if url is None:
        raise InvalidInput(f"{user!r} is not a TikTok user; give @name or https://www.tiktok.com/@name")
    _run_collect([url], limit=limit, refresh_known=refresh, as_json=as_json, job="collect_tiktok_user")


@tiktok_app.command("video")
def video_cmd(
    url: Annotated[str, typer.Argument(help="https://www.tiktok.com/@name/video/ID or a vm.tiktok.com link")],
    as_json: JsonOpt = False,
) -> None:
    """Collect one TikTok video now (a fresh snapshot even when it is already stored)."""
    ref = tiktok_video_ref(url)
    if ref is None and not is_tiktok_short_link(url):
        raise InvalidInput(
            f"{url!r} is not a TikTok video URL; e.g. https://www.tiktok.com/@name/video/7451234567890123456"
        )
    _run_collect([ref[1] if ref else url.strip()], limit=None, refresh_known=True, as_json=as_json,
                 job="collect_tiktok_video")  # fmt: skip


@tiktok_app.command("tag")
def tag_cmd(
    tag: Annotated[str, typer.Argument(help="A hashtag (pastatok, #pastatok) or https://www.tiktok.com/tag/NAME")],
    limit: LimitOpt = 30,
    refresh: RefreshOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Collect a hashtag page. yt-dlp marks its TikTok hashtag extractor as not working: expect failures live."""
    url = tiktok_tag_url(tag)
    if url is None:
        raise InvalidInput(f"{tag!r} is not a hashtag; give a word such as pastatok or a tiktok.com/tag/ URL")
    _run_collect([url], limit=limit, refresh_known=refresh, as_json=as_json, job="collect_tiktok_tag")


@tiktok_app.command("search")
def search_cmd(query: Annotated[str, typer.Argument(help="What to search for.")]) -> None:
    """Not available: yt-dlp has no TikTok search (the command says what to use instead)."""
    raise InvalidInput(f"cannot search TikTok for {query!r}: {TIKTOK_NO_SEARCH}")
