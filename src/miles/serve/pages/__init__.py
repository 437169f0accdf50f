"""HTML pages (Jinja2 + HTMX + Plotly), each with a JSON twin at the same URL plus ``.json``.

``install_pages(app)`` mounts ``/static`` (our CSS and JS, and HTMX installed by ``make`` from npm into
``static/vendor/``), serves Plotly's JavaScript from the installed ``plotly`` package at
``/assets/plotly.min.js`` and the Roboto font of the installed ``fontpkg-roboto`` package at
``/assets/fonts/roboto.ttf`` (for the feed preview; never a CDN), serves the interactive API docs at ``/docs`` (Swagger
UI, installed by ``make`` from npm into ``static/vendor/swagger-ui/``), adds the page routers and the HTML error pages.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from miles.serve.pages import auth, explore, history, ideas, model_card, quality, score, timezone, track
from miles.serve.pages.common import STATIC_DIR, TEMPLATES
from miles.serve.pages.errors import install_page_error_handlers

assets = APIRouter(include_in_schema=False)


def plotly_js_path() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@assets.get("/assets/plotly.min.js")
def plotly_js() -> Response:
    path = plotly_js_path()
    if not path.is_file():
        return PlainTextResponse(
            "console.error('Miles: plotly.min.js is missing from the installed plotly package; reinstall plotly')",
            media_type="text/javascript",
        )
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def roboto_path() -> Path:
    return Path(str(resources.files("fontpkg_roboto") / "files" / "Roboto[wdth,wght].ttf"))


@assets.get("/assets/fonts/roboto.ttf")
def roboto() -> Response:
    """YouTube's typeface for the feed preview, from the installed package (the preview falls back to sans-serif)."""
    path = roboto_path()
    if not path.is_file():
        return PlainTextResponse("Roboto is missing from the installed fontpkg-roboto package", status_code=404)
    return FileResponse(path, media_type="font/ttf", headers={"Cache-Control": "public, max-age=86400"})


@assets.get("/favicon.ico")
def favicon() -> Response:
    """Browsers, feed readers and the API docs ask for /favicon.ico whatever the page links: the SVG icon, not a 404
    in every log."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


@assets.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over the OpenAPI schema, its script and style from /static: FastAPI's own /docs loads them from a
    CDN, a blank page offline ("SwaggerUIBundle is not defined")."""
    return TEMPLATES.TemplateResponse(request, "api_docs.html", {"openapi_url": request.app.openapi_url})


def install_pages(app: FastAPI) -> None:
    app.include_router(assets)
    for module in (ideas, score, track, explore, model_card, quality, history, auth, timezone):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    install_page_error_handlers(app)
