"""Errors on pages: an HTML page in the reader's language, or the way to the login page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from puerta.web.deps import runtime_of
from puerta.web.pages.render import render
from puerta.web.pages.session import Page, get_page


def is_page(request: Request) -> bool:
    """Everything but the JSON API and the static files is a page."""
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/static/"))


def _page(request: Request) -> Page:
    page = getattr(request.state, "page", None)
    if isinstance(page, Page):
        return page
    return get_page(request, runtime_of(request))


def reader_language(request: Request) -> str:
    return _page(request).language


def login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/"
    response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    _page(request).apply_cookies(response)
    return response


def error_page(request: Request, status: int, message: str, code: str) -> Response:
    """``message`` is already in the reader's language; ``code`` is for whoever helps them."""
    page = _page(request)
    return render(page, "error.html", title=message, status=status, code=code)
