"""Creating an account, logging in and out, with a session cookie."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.accounts.domain import Role
from puerta.errors import DomainError
from puerta.ratelimits.limiter import Action
from puerta.web.limits import check, with_retry_after
from puerta.web.pages import forms
from puerta.web.pages.render import N_, redirect, render, safe_next
from puerta.web.pages.session import (
    Form,
    LoggedInPage,
    Page,
    PageDep,
    end_session,
    field_text,
    start_session,
)

router = APIRouter(include_in_schema=False)
HOMES = {
    Role.REGISTRANT: "/status",
    Role.CASEWORKER: "/caseworker",
    Role.OFFICER: "/officer",
    Role.ADMIN: "/admin",
    Role.INCIDENTS: "/triage",
}
REGISTER_TITLE = N_("Create account")
LOGIN_TITLE = N_("Log in")


def _values(form: FormData, *names: str) -> dict[str, str]:
    return {name: field_text(form, name) for name in names}


def _log_in(page: Page, username: str, password: str) -> Role:
    runtime = page.runtime
    token, _ = accounts.log_in(
        uow=runtime.uow(),
        clock=runtime.clock,
        hasher=runtime.hasher,
        username=username,
        password=password,
        ttl=dt.timedelta(hours=runtime.settings.token_ttl_hours),
        guard=runtime.limits.login,
    )
    start_session(page, token)
    return accounts.account_for_token(uow=runtime.uow(), clock=runtime.clock, token=token).role


@router.get("/register", response_class=HTMLResponse)
def register_form(page: PageDep) -> HTMLResponse:
    return render(page, "register.html", title=page.gettext(REGISTER_TITLE), form={})


@router.post("/register", response_class=HTMLResponse)
def register(page: PageDep, form: Form) -> Response:
    """Create a person's account and log them in; next, their family."""
    values = _values(form, "username", "language")
    password = field_text(form, "password")
    try:
        check(page.runtime, Action.ACCOUNTS, page.request, None)
        accounts.create_account(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            hasher=page.runtime.hasher,
            username=values["username"],
            password=password,
            language=values["language"],
            languages=i18n.available_languages(),
        )
        page.language = values["language"]
        _log_in(page, values["username"], password)
    except DomainError as error:
        shown = render(
            page,
            "register.html",
            title=page.gettext(REGISTER_TITLE),
            form=values,
            error=i18n.translate_error(error, page.language),
            status=forms.failed_status(error),
        )
        return with_retry_after(error, shown)
    return redirect(page, "/group?done=registered")


@router.get("/login", response_class=HTMLResponse)
def login_form(page: PageDep, next: str | None = None) -> HTMLResponse:
    return render(
        page, "login.html", title=page.gettext(LOGIN_TITLE), form={}, next=safe_next(next, "")
    )


@router.post("/login", response_class=HTMLResponse)
def login(page: PageDep, form: Form) -> Response:
    """Check the password and start a session."""
    values = _values(form, "username", "next")
    try:
        check(page.runtime, Action.LOGIN, page.request, None)
        role = _log_in(page, values["username"], field_text(form, "password"))
    except DomainError as error:
        shown = render(
            page,
            "login.html",
            title=page.gettext(LOGIN_TITLE),
            form=values,
            next=safe_next(values["next"], ""),
            error=i18n.translate_error(error, page.language),
            status=forms.failed_status(error),
        )
        return with_retry_after(error, shown)
    return redirect(page, safe_next(values["next"], HOMES.get(role, "/")))


@router.post("/logout", response_class=HTMLResponse)
def logout(page: LoggedInPage, form: Form) -> Response:
    """End the session on this device."""
    end_session(page)
    return redirect(page, "/")
