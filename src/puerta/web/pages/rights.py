"""A person's page of their data: download everything puerta holds about them, or erase it.

A caseworker acting for the person (a delegated session) may do both for them: the download
is recorded in the audit log in the caseworker's name; the erasure needs the caseworker's own
password and the person's consent, spoken or signed, and then gives the caseworker their own
session back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter

from puerta import i18n
from puerta.accounts import rights
from puerta.accounts.rights import KEPT_AFTER_ERASURE, NOT_INCLUDED, DataExport
from puerta.accounts.service import AccountView
from puerta.errors import DomainError
from puerta.web.api.rights import EXPORT_FILE
from puerta.web.pages import forms
from puerta.web.pages.caseworker import CONSENT_NAMES
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import (
    SESSION_COOKIE,
    STAFF_COOKIE,
    Form,
    LoginRequired,
    Page,
    RegistrantPage,
    field_text,
    start_session,
)

router = APIRouter(include_in_schema=False)
TITLE = N_("Your data")
_EXPORT = TypeAdapter(DataExport)


def _account(page: Page) -> AccountView:
    if page.account is None:
        raise LoginRequired()
    return page.account


def _page(page: Page, error: DomainError | None = None, **context: Any) -> HTMLResponse:
    shown: dict[str, Any] = {
        "not_included": NOT_INCLUDED, "kept": KEPT_AFTER_ERASURE, "consent_names": CONSENT_NAMES,
    }  # fmt: skip
    if error is not None:
        shown |= {
            "error": i18n.translate_error(error, page.language),
            "status": forms.failed_status(error),
        }
    return render(page, "data.html", title=page.gettext(TITLE), **shown, **context)


@router.get("/me/data", response_class=HTMLResponse)
def data_page(page: RegistrantPage) -> HTMLResponse:
    """What puerta holds about the person: a download of all of it, and the erasure form."""
    return _page(page)


@router.get("/me/data/export.json")
def download(page: RegistrantPage) -> Response:
    """The same document as ``GET /api/v1/me/export``, as a file to keep."""
    export = rights.export_data(
        uow=page.runtime.uow(), clock=page.runtime.clock, account=_account(page),
        holders=page.runtime.holders,
    )  # fmt: skip
    response = Response(
        _EXPORT.dump_json(export, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": EXPORT_FILE},
    )
    page.apply_cookies(response)
    return response


@router.post("/me/data/erase", response_class=HTMLResponse)
def erase(page: RegistrantPage, form: Form) -> Response:
    """Erase the account and the family's data, once the password confirms it."""
    account = _account(page)
    consent = field_text(form, "consent_how") or None
    try:
        rights.erase_account(
            uow=page.runtime.uow(), clock=page.runtime.clock, hasher=page.runtime.hasher,
            account=account, password=field_text(form, "password"), consent=consent,
            holders=page.runtime.holders,
        )  # fmt: skip
    except DomainError as error:
        return _page(page, error, form={"consent_how": consent or ""})
    page.session_token, page.account = None, None
    page.set_cookies[SESSION_COOKIE] = None
    own = page.request.cookies.get(STAFF_COOKIE)
    if account.acting_id is not None and own:
        # The caseworker's own session, which waited while they acted for the person.
        start_session(page, own)
        page.set_cookies[STAFF_COOKIE] = None
        return redirect(page, "/caseworker?done=erased")
    return redirect(page, "/?done=erased")
