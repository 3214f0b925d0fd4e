"""Pages anyone can see: the start page, the translations and the language switcher."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.draws import service as draws
from puerta.web.pages.render import N_, language_names, redirect, render, safe_next
from puerta.web.pages.session import LANGUAGE_COOKIE, Form, PageDep, field_text

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(page: PageDep) -> HTMLResponse:
    """What puerta is, how it works, and whether requests are open now."""
    runtime = page.runtime
    window = draws.window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
    return render(
        page, "home.html", title=page.gettext(N_("Appointments at the border")), window=window
    )


@router.get("/translations", response_class=HTMLResponse)
def translations(page: PageDep) -> HTMLResponse:
    """Each language's completeness and whether a fluent speaker has reviewed it."""
    names = dict(language_names())
    rows = [
        {
            "code": s.code,
            "name": names.get(s.code, s.code),
            "percent": s.percent,
            "reviewed": s.reviewed,
            "source": s.source,
        }
        for s in i18n.catalog_status()
    ]
    rows.sort(key=lambda row: str(row["name"]).casefold())
    return render(page, "translations.html", title=page.gettext(N_("Translations")), rows=rows)


@router.post("/language", response_class=HTMLResponse)
def choose_language(page: PageDep, form: Form) -> Response:
    """Switch the pages' language; a logged-in account remembers it."""
    language = field_text(form, "language")
    if language in i18n.available_languages():
        page.set_cookies[LANGUAGE_COOKIE] = language
        if page.account is not None:
            accounts.set_language(
                uow=page.runtime.uow(),
                account_id=page.account.id,
                language=language,
                languages=i18n.available_languages(),
            )
    return redirect(page, safe_next(field_text(form, "next"), "/"))
