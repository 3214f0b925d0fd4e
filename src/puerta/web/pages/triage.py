"""The triage team's pages (role ``incidents``): unlock, the reports by status, one report.

Unlocking keeps the team's private keys in an HttpOnly, SameSite=Strict cookie (Secure in
production), encrypted under a key derived from the session token, which the database
holds only as a SHA-256: the cookie is worthless without the live session, and logging out
clears it. Forms carry CSRF tokens as the admin pages' do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse, JSONResponse

from puerta import i18n
from puerta.accounts.domain import Role
from puerta.errors import DomainError
from puerta.geo.service import state_names
from puerta.incidents import keys, sealing, triage
from puerta.incidents.domain import TRANSITIONS, ReferredTo, Status
from puerta.web.deps import RowId
from puerta.web.pages import incidents
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import Form, Page, field_text, page_for

router = APIRouter(include_in_schema=False, prefix="/triage")
TriagePage = Annotated[Page, Depends(page_for(Role.INCIDENTS))]
UNLOCK_COOKIE = "puerta_incidents_unlock"
TITLE = N_("Incident reports")
REPORT_TITLE = N_("Incident report")
NOTICES = {
    "unlocked": N_("Unlocked. You can read the reports until you log out or lock them."),
    "locked": N_("Locked. Unlock again with the passphrase to read the reports."),
}


def _keys(page: Page) -> Mapping[str, bytes] | None:
    try:
        return sealing.keys_of_session(page.session_token, page.request.cookies.get(UNLOCK_COOKIE))
    except sealing.Locked:
        return None


def _home(page: Page, shown: str | None, **more: Any) -> HTMLResponse:
    unlocked = _keys(page) is not None
    wanted = Status(shown) if shown in set(Status) else None
    reports = triage.list_reports(uow=page.runtime.uow(), status=wanted) if unlocked else []
    return render(
        page, "triage.html", title=page.gettext(TITLE), unlocked=unlocked, reports=reports,
        wanted=wanted.value if wanted else "", statuses=list(Status), states=state_names(),
        notice=page.gettext(NOTICES[more.pop("done")]) if "done" in more else None,
        **incidents.labels(), **more,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def home(page: TriagePage, status: str | None = None) -> HTMLResponse:
    """The reports of one status (or all) once unlocked; else the unlock form."""
    done = page.request.query_params.get("done")
    return _home(page, status, **({"done": done} if done in NOTICES else {}))


@router.post("/unlock", response_class=HTMLResponse)
def unlock(page: TriagePage, form: Form) -> Response:
    """Open the team's keys with the passphrase, for this session only."""
    runtime = page.runtime
    try:
        opened = keys.unlock(runtime.settings.incidents_key_file, field_text(form, "passphrase"))
    except DomainError as error:
        detail = i18n.translate_error(error, page.language)
        return _home(page, None, error=detail, status=403 if error.status == 403 else 422)
    triage.record_unlock(
        uow=runtime.uow(), clock=runtime.clock, actor_id=page.account_id, keys=len(opened)
    )
    response = redirect(page, "/triage?done=unlocked")
    response.set_cookie(
        UNLOCK_COOKIE, sealing.lock_for_session(page.session_token or "", opened),
        max_age=runtime.settings.token_ttl_hours * 3600, path="/", httponly=True,
        secure=runtime.settings.secure_cookies, samesite="strict",
    )  # fmt: skip
    return response


@router.post("/lock", response_class=HTMLResponse)
def lock(page: TriagePage, form: Form) -> Response:
    """Forget the unlocked keys in this browser."""
    page.set_cookies[UNLOCK_COOKIE] = None
    return redirect(page, "/triage?done=locked")


@router.get("/export.huridocs.json")
def export(page: TriagePage) -> Response:
    """Referred reports as HURIDOCS Events Standard Formats records."""
    if _keys(page) is None:
        raise sealing.Locked()
    body = triage.export_referred(
        uow=page.runtime.uow(), clock=page.runtime.clock, actor_id=page.account_id,
        states=state_names(),
    )  # fmt: skip
    return JSONResponse(body)


def _report_page(page: Page, report_id: int, **more: Any) -> HTMLResponse:
    found = _keys(page)
    if found is None:
        return _home(page, None, error=page.gettext(sealing.Locked.message), status=403)
    view = triage.read_report(
        uow=page.runtime.uow(), clock=page.runtime.clock, keys=found, report_id=report_id,
        actor_id=page.account_id,
    )  # fmt: skip
    return render(
        page, "triage_report.html", title=page.gettext(REPORT_TITLE), report=view,
        states=state_names(), statuses=list(Status), referrals=list(ReferredTo),
        next_statuses=sorted(s.value for s in TRANSITIONS[view.status]),
        **incidents.labels(), **more,
    )  # fmt: skip


@router.get("/{report_id}", response_class=HTMLResponse)
def report(page: TriagePage, report_id: RowId) -> HTMLResponse:
    """One report, unsealed: text shown escaped, as written."""
    return _report_page(page, report_id)


def _act(page: Page, report_id: int, action: str, form: Any) -> Response:
    found = _keys(page)
    if found is None:
        return _home(page, None, error=page.gettext(sealing.Locked.message), status=403)
    runtime, text = page.runtime, field_text(form, "text")
    common: dict[str, Any] = {
        "uow": runtime.uow(), "clock": runtime.clock, "keys": found,
        "report_id": report_id, "actor_id": page.account_id,
    }  # fmt: skip
    try:
        if action == "note":
            team = keys.team_key(runtime.settings.incidents_key_file)
            triage.add_note(**common, team=team, text=text)
        elif action == "message":
            triage.send_message(**common, text=text)
        else:
            referral = field_text(form, "referred_to") or None
            triage.change_status(**common, status=field_text(form, "status"), referred_to=referral)
    except DomainError as error:
        detail = i18n.translate_error(error, page.language)
        return _report_page(page, report_id, error=detail, status=min(error.status, 422))
    return redirect(page, f"/triage/{report_id}?done=saved")


@router.post("/{report_id}/note", response_class=HTMLResponse)
def add_note(page: TriagePage, form: Form, report_id: RowId) -> Response:
    """A note for the team."""
    return _act(page, report_id, "note", form)


@router.post("/{report_id}/message", response_class=HTMLResponse)
def send_message(page: TriagePage, form: Form, report_id: RowId) -> Response:
    """A message the reporter reads with the receipt."""
    return _act(page, report_id, "message", form)


@router.post("/{report_id}/status", response_class=HTMLResponse)
def change_status(page: TriagePage, form: Form, report_id: RowId) -> Response:
    """Move the report along: in review, referred (where to), closed."""
    return _act(page, report_id, "status", form)
