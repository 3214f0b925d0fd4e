"""A caseworker's pages: the people they registered, registering one more with their
consent, acting for one of them, and the page where a person claims their account.

Acting for a person swaps the browser's session for a delegated one (the person's pages,
with a banner saying who acts); the caseworker's own session waits in its own cookie and
comes back when they stop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.accounts import assisted, lockout
from puerta.accounts import service as accounts
from puerta.accounts.domain import Consent
from puerta.errors import DomainError
from puerta.web.pages import forms
from puerta.web.pages.officer import row_id
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import (
    SESSION_COOKIE,
    STAFF_COOKIE,
    CaseworkerPage,
    Form,
    Page,
    PageDep,
    field_text,
    start_session,
)

router = APIRouter(include_in_schema=False)
HOME_TITLE = N_("People I help")
NEW_TITLE = N_("Register a person")
CREATED_TITLE = N_("The person is registered")
CLAIM_TITLE = N_("Take over your account")
CONSENT_NAMES = {
    Consent.SPOKEN.value: N_("Spoken: the person said yes"),
    Consent.SIGNED.value: N_("Signed: the person signed a consent form"),
}


def _error(page: Page, error: DomainError) -> dict[str, Any]:
    return {
        "status": forms.failed_status(error),
        "error": i18n.translate_error(error, page.language),
    }


@router.get("/caseworker", response_class=HTMLResponse)
def home(page: CaseworkerPage) -> HTMLResponse:
    """The people assigned to me, and what I can do for each."""
    people = assisted.list_assisted(uow=page.runtime.uow(), caseworker=_me(page))
    return render(page, "caseworker.html", title=page.gettext(HOME_TITLE), people=people)


def _me(page: Page) -> accounts.AccountView:
    assert page.account is not None  # the role dependency made sure
    return page.account


def _new_form(page: Page, form: dict[str, str], **context: Any) -> HTMLResponse:
    return render(
        page,
        "caseworker_new.html",
        title=page.gettext(NEW_TITLE),
        form=form,
        consent_names=CONSENT_NAMES,
        **context,
    )


@router.get("/caseworker/people/new", response_class=HTMLResponse)
def new_person_form(page: CaseworkerPage) -> HTMLResponse:
    return _new_form(page, {"language": page.language})


@router.post("/caseworker/people/new", response_class=HTMLResponse)
def new_person(page: CaseworkerPage, form: Form) -> Response:
    """Register a person with their recorded consent; shows the claim code once."""
    values = {name: field_text(form, name) for name in ("language", "phone", "consent_how")}
    values["consent_given"] = "yes" if field_text(form, "consent_given") == "yes" else ""
    try:
        created = assisted.create_assisted(
            uow=page.runtime.uow(), clock=page.runtime.clock, hasher=page.runtime.hasher,
            caseworker=_me(page), language=values["language"],
            languages=i18n.available_languages(), consent_given=bool(values["consent_given"]),
            consent_how=values["consent_how"], phone=values["phone"] or None,
        )  # fmt: skip
    except DomainError as error:
        return _new_form(page, values, **_error(page, error))
    # Shown on this answer only: it is never stored in the clear nor shown again.
    return render(
        page, "caseworker_created.html", title=page.gettext(CREATED_TITLE), created=created
    )


@router.post("/caseworker/people/{account_id}/act", response_class=HTMLResponse)
def act_for(page: CaseworkerPage, form: Form, account_id: str) -> Response:
    """Open the person's pages as them, through a delegated session."""
    try:
        token, _ = assisted.delegated_token(
            uow=page.runtime.uow(), clock=page.runtime.clock, caseworker=_me(page),
            account_id=row_id(account_id),
        )  # fmt: skip
    except DomainError as error:
        people = assisted.list_assisted(uow=page.runtime.uow(), caseworker=_me(page))
        return render(
            page, "caseworker.html", title=page.gettext(HOME_TITLE), people=people,
            **_error(page, error),
        )  # fmt: skip
    page.set_cookies[STAFF_COOKIE] = page.session_token
    start_session(page, token)
    return redirect(page, "/status")


@router.post("/caseworker/unlock", response_class=HTMLResponse)
def unlock(page: CaseworkerPage, form: Form) -> Response:
    """Lift the login lockout of a person I registered (audited)."""
    try:
        lockout.unlock_username(
            uow=page.runtime.uow(), clock=page.runtime.clock, guard=page.runtime.limits.login,
            staff=_me(page), username=field_text(form, "username"),
        )  # fmt: skip
    except DomainError as error:
        people = assisted.list_assisted(uow=page.runtime.uow(), caseworker=_me(page))
        return render(
            page, "caseworker.html", title=page.gettext(HOME_TITLE), people=people,
            **_error(page, error),
        )  # fmt: skip
    return redirect(page, "/caseworker?done=saved")


@router.post("/caseworker/stop", response_class=HTMLResponse)
def stop_acting(page: PageDep, form: Form) -> Response:
    """End the delegated session and go back to my own."""
    own = page.request.cookies.get(STAFF_COOKIE)
    if page.account is not None and page.account.acting_id is not None and page.session_token:
        accounts.log_out(uow=page.runtime.uow(), token=page.session_token)
    if not own:
        page.set_cookies[SESSION_COOKIE] = None
        return redirect(page, "/login")
    start_session(page, own)
    page.set_cookies[STAFF_COOKIE] = None
    return redirect(page, "/caseworker")


def _claim_form(page: Page, form: dict[str, str], **context: Any) -> HTMLResponse:
    return render(page, "claim.html", title=page.gettext(CLAIM_TITLE), form=form, **context)


@router.get("/claim", response_class=HTMLResponse)
def claim_form(page: PageDep) -> HTMLResponse:
    return _claim_form(page, {})


@router.post("/claim", response_class=HTMLResponse)
def claim(page: PageDep, form: Form) -> Response:
    """The person takes over the account their caseworker made, and is logged in."""
    values = {name: field_text(form, name) for name in ("claim_code", "username")}
    password = field_text(form, "password")
    runtime = page.runtime
    try:
        view = assisted.claim_account(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher,
            claim_code=values["claim_code"], username=values["username"], password=password,
        )  # fmt: skip
        token, _ = accounts.log_in(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher,
            username=view.username, password=password, ttl=_session_ttl(page),
        )  # fmt: skip
    except DomainError as error:
        return _claim_form(page, values, **_error(page, error))
    page.language = view.language
    start_session(page, token)
    page.set_cookies[STAFF_COOKIE] = None
    return redirect(page, "/status?done=claimed")


def _session_ttl(page: Page) -> dt.timedelta:
    return dt.timedelta(hours=page.runtime.settings.token_ttl_hours)
