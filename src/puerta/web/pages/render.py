"""Rendering pages: the Jinja2 environment, translations in templates, dates in the reader's
language and the static files' cache-busting addresses."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from puerta import i18n
from puerta.appointments.domain import PORTS, PORTS_BY_SLUG
from puerta.web.pages.formatting import Formatter, reader_port
from puerta.web.pages.session import Page

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
RTL_LANGUAGES = frozenset({"ar", "fa"})

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for "translate later")
    """Mark a message for extraction; it is translated where it is shown."""
    return message


@cache
def static_url(name: str) -> str:
    """``/static/name?v=<hash>``: cached for a year, fetched again when it changes."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def html_tag(language: str) -> str:
    """The BCP 47 tag for ``<html lang>``: zh_Hans is ``zh-Hans``."""
    return language.replace("_", "-")


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


@cache
def language_names() -> list[tuple[str, str]]:
    """Every available language, named in itself, in a stable order."""
    names = [(code, _native_name(code)) for code in i18n.available_languages()]
    return sorted(names, key=lambda item: item[1].casefold())


def _native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def translator(page: Page) -> Any:
    rtl = text_direction(page.language) == "rtl"

    def translate(message: str, **params: Any) -> str:
        text = page.gettext(message)
        if not params:
            return text
        # Formatted values arrive as Markup already isolated in <bdi>; for the others,
        # first-strong isolates keep a Latin name such as "El Paso (Paso del Norte)" from
        # scrambling the right-to-left sentence around it.
        shown = {key: _isolated_text(value, rtl) for key, value in params.items()}
        try:
            return Markup(escape(text)).format(**shown)
        except (KeyError, IndexError, ValueError):
            return Markup(escape(message)).format(**shown)

    return translate


def _isolated_text(value: Any, rtl: bool) -> Any:
    if isinstance(value, Markup) or not rtl:
        return value
    return f"\u2068{value}\u2069"


NOTICES = {
    "registered": N_("Your account is ready. Now add your family."),
    "group_saved": N_("Your family is saved."),
    "requested": N_("Your request is saved. You are in the draw."),
    "withdrawn": N_("Your request is withdrawn."),
    "confirmed": N_("Your appointment is confirmed."),
    "cancelled": N_("You gave up the appointment. You can ask again when requests open."),
    "saved": N_("Saved."),
    "checked_in": N_("Checked in."),
    "claimed": N_("The account is yours now. Your caseworker can no longer use it for you."),
    "erased": N_("The account and the family's data are erased. Nothing that names them is kept."),
}


STATUS_NAMES = {
    "offered": N_("Offered: waiting for your confirmation"),
    "confirmed": N_("Confirmed"),
    "expired": N_("Expired: not confirmed in time"),
    "cancelled": N_("Cancelled"),
    "checked_in": N_("Checked in at the port"),
    "no_show": N_("Did not come"),
}
ROLE_NAMES = {
    "registrant": N_("Person asking for an appointment"),
    "caseworker": N_("Caseworker"),
    "officer": N_("Port officer"),
    "admin": N_("Administrator"),
    "incidents": N_("Incidents caseworker"),
}


def _notice(page: Page) -> str | None:
    message = NOTICES.get(page.request.query_params.get("done", ""))
    return page.gettext(message) if message else None


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the reader's language, with the cookies the request asked to set."""
    body = _environment.get_template(template).render(
        _=translator(page),
        page=page,
        account=page.account,
        lang=page.language,
        html_lang=html_tag(page.language),
        dir=text_direction(page.language),
        languages=language_names(),
        fmt=Formatter(page),
        reader_port=reader_port(
            context.get("appointment"), context.get("request"), context.get("port")
        ),
        static=static_url,
        ports=PORTS,
        ports_by_slug=PORTS_BY_SLUG,
        status_names=STATUS_NAMES,
        role_names=ROLE_NAMES,
        notice=context.pop("notice", None) or _notice(page),
        path=page.request.url.path,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    page.apply_cookies(response)
    return response


def redirect(page: Page, to: str) -> RedirectResponse:
    """See other: after a form is handled, the browser loads ``to`` (post/redirect/get)."""
    response = RedirectResponse(to, status_code=303)
    page.apply_cookies(response)
    return response


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
