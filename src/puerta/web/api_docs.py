"""The API's interactive documentation at ``/api/docs``: Swagger UI served from puerta itself.

FastAPI's own docs page loads Swagger UI from a CDN with an inline script, which puerta's
Content-Security-Policy forbids (and puerta loads nothing from another host). Here the page
loads only same-origin files: Swagger UI 5's bundle and stylesheet, shipped by the
``fastapi-swagger`` package (byte for byte those of the ``swagger-ui-dist`` release; only
the files, never its code, are used), and ``static/api-docs.js``, which starts it. Each
address carries a content hash, so the files are cached for a year (see ``app._add_headers``)
and the page pins them with Subresource Integrity.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from puerta.web.pages.render import TEMPLATES_DIR, static_url

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
OPENAPI_URL = "/api/v1/openapi.json"
# Today's policy for every page; the docs page differs only in what Swagger UI needs.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    """One of Swagger UI's files: where it is on disk and how the page asks for it."""

    path: Path
    url: str
    integrity: str


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files in the installed package (not imported: only read)."""
    spec = importlib.util.find_spec("fastapi_swagger")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-swagger is not installed: pip install the project again")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


@cache
def asset(name: str) -> Asset:
    content = (swagger_ui_dir() / name).read_bytes()
    version = hashlib.sha256(content).hexdigest()[:10]
    digest = base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")
    return Asset(swagger_ui_dir() / name, f"{ASSETS_PATH}/{name}?v={version}", f"sha384-{digest}")


@cache
def _page() -> str:
    return _environment.get_template("api_docs.html").render(
        bundle=asset("swagger-ui-bundle.js"),
        stylesheet=asset("swagger-ui.css"),
        starter=static_url("api-docs.js"),
        favicon=static_url("favicon.svg"),
        openapi_url=OPENAPI_URL,
    )


@router.get(DOCS_PATH, response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Swagger UI over the OpenAPI description, under a policy of its own."""
    return HTMLResponse(_page(), headers={"Content-Security-Policy": DOCS_POLICY})


@router.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")
def swagger_ui_bundle() -> FileResponse:
    return _file("swagger-ui-bundle.js")


@router.get(f"{ASSETS_PATH}/swagger-ui.css")
def swagger_ui_css() -> FileResponse:
    return _file("swagger-ui.css")


def _file(name: str) -> FileResponse:
    path = asset(name).path
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix])
