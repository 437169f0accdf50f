"""A small real HTTP server on 127.0.0.1 serving canned routes (pages, feeds, images, errors) for tests."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunked: bool = False


Handler = Callable[[int], Route]  # hit number (1-based) -> response


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out on purpose hang up mid-response


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler] = {
            "/media/clip.mp4": Route(body=b"\x00" * 64, content_type="video/mp4")
        }
        self.hits: Counter[str] = Counter()
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route | Handler) -> str:
        self.routes[path] = route
        return self.url(path)

    def _make_handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        site = self

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site.hits[path] += 1
                entry = site.routes.get(path)
                route = Route(404, b"not found") if entry is None else entry
                if callable(route):
                    route = route(site.hits[path])
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(route.body), 65536):
                        part = route.body[start : start + 65536]
                        try:
                            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                        except OSError:
                            return
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except OSError:
                    return

            def log_message(self, *args: object) -> None:
                pass

        return _H

    @contextmanager
    def running(self) -> Iterator[LocalSite]:
        self._server = _QuietServer(("127.0.0.1", 0), self._make_handler())
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def png_bytes(width: int = 64, height: int = 36, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def video_page(
    base: str,
    *,
    title: str,
    views: int,
    upload: str = "2026-01-02T03:04:05Z",
    duration: str = "PT31S",
    author: str = "Chef Local",
    thumbnail: str | None = None,
    description: str = "",
) -> bytes:
    """An HTML page with a schema.org VideoObject, which yt-dlp's generic extractor reads (media served at ``base``)."""
    ld: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": title,
        "description": description,
        "uploadDate": upload,
        "duration": duration,
        "contentUrl": f"{base}/media/clip.mp4",
        "interactionStatistic": {
            "@type": "InteractionCounter",
            "interactionType": {"@type": "WatchAction"},
            "userInteractionCount": views,
        },
        "author": {"@type": "Person", "name": author},
    }
    if thumbnail:
        ld["thumbnailUrl"] = thumbnail
    html = (
        f"<html><head><title>{title}</title>"
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head><body>{title}</body></html>'
    )
    return html.encode()


def rss_feed(title: str, links: list[tuple[str, str]]) -> bytes:
    items = "".join(f"<item><title>{t}</title><link>{u}</link></item>" for t, u in links)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://127.0.0.1/</link><description>feed</description>{items}</channel></rss>"
    ).encode()
