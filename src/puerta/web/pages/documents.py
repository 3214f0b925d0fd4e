"""A person's page of immigration documents: each member's, and a form to add or change one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.documents import service
from puerta.documents.domain import DocumentKind, DocumentStatus
from puerta.documents.service import Changes, DocumentView
from puerta.errors import DomainError
from puerta.notifications.domain import DOCUMENTS
from puerta.web.deps import RowId
from puerta.web.pages import forms
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import Form, Page, RegistrantPage, field_text

router = APIRouter(include_in_schema=False)
TITLE = N_("My documents")
STATUS_NAMES = {
    DocumentStatus.REQUESTED.value: N_("Requested: waiting for an answer"),
    DocumentStatus.ISSUED.value: N_("Issued"),
    DocumentStatus.DENIED.value: N_("Denied"),
    DocumentStatus.EXPIRED.value: N_("Expired"),
}
DATES = ("requested", "decided", "expires")
_EMPTY = {"member": "", "kind": "", "status": "requested", "office": ""} | {
    f"{name}_{part}": "" for name in DATES for part in ("day", "month", "year")
}


def _values(doc: DocumentView) -> dict[str, str]:
    values = {"member": str(doc.member), "kind": doc.kind.value, "status": doc.status.value}
    values["office"] = doc.office
    for name, day in zip(DATES, (doc.requested_on, doc.decided_on, doc.expires_on), strict=True):
        for part in ("day", "month", "year"):
            values[f"{name}_{part}"] = "" if day is None else str(getattr(day, part))
    return values


def _context(page: Page, editing: DocumentView | None, values: dict[str, str]) -> dict[str, Any]:
    """The family's members and documents, and the form (``editing`` one, or a new one)."""
    with page.runtime.uow() as uow:
        try:
            members = accounts.get_group(uow=uow, account_id=page.account_id).members
        except accounts.GroupNotFound:
            members = []
        documents = service.list_documents(uow=uow, account_id=page.account_id)
    return {
        "members": members,
        "documents": documents,
        "former": [d for d in documents if d.member >= len(members)],
        "editing": editing,
        "values": values,
        "kind_names": {kind.value: DOCUMENTS[kind.value] for kind in DocumentKind},
        "document_status_names": STATUS_NAMES,
        "date_order": forms.date_order(page.language),
    }


def _page(page: Page, context: dict[str, Any], error: DomainError | None = None) -> HTMLResponse:
    if error is None:
        return render(page, "documents.html", title=page.gettext(TITLE), **context)
    return render(
        page, "documents.html", title=page.gettext(TITLE), **context,
        error=i18n.translate_error(error, page.language), status=forms.failed_status(error),
    )  # fmt: skip


def _find(page: Page, document_id: int) -> DocumentView:
    for doc in service.list_documents(uow=page.runtime.uow(), account_id=page.account_id):
        if doc.id == document_id:
            return doc
    raise service.DocumentNotFound()


@router.get("/documents", response_class=HTMLResponse)
def documents(page: RegistrantPage, edit: int | None = None) -> HTMLResponse:
    """The family's documents, per member; ``?edit=ID`` fills the form with one to change."""
    editing = None
    if edit is not None:
        try:
            editing = _find(page, edit)
        except DomainError as error:
            return _page(page, _context(page, None, dict(_EMPTY)), error)
    values = _values(editing) if editing else dict(_EMPTY)
    return _page(page, _context(page, editing, values))


def _typed(form: FormData) -> dict[str, str]:
    return {name: field_text(form, name) for name in _EMPTY}


def _day(values: dict[str, str], name: str) -> dt.date | None:
    """A date typed in three fields; all three empty is no date."""
    day, month, year = (values[f"{name}_{part}"] for part in ("day", "month", "year"))
    if not (day or month or year):
        return None
    return forms.parse_date_parts(day, month, year)


def _requested_on(values: dict[str, str]) -> dt.date:
    day = _day(values, "requested")
    if day is None:
        raise forms.BadDateParts()
    return day


def _member(values: dict[str, str]) -> int:
    number = forms.small_number(values["member"], 3)
    return -1 if number is None else number


@router.post("/documents", response_class=HTMLResponse)
def add_document(page: RegistrantPage, form: Form) -> Response:
    """Record a member's document."""
    values = _typed(form)
    try:
        service.record_document(
            uow=page.runtime.uow(), clock=page.runtime.clock, account_id=page.account_id,
            member=_member(values), kind=values["kind"], status=values["status"],
            requested_on=_requested_on(values), decided_on=_day(values, "decided"),
            expires_on=_day(values, "expires"), office=values["office"],
        )  # fmt: skip
    except DomainError as error:
        return _page(page, _context(page, None, values), error)
    return redirect(page, "/documents?done=saved")


@router.post("/documents/{document_id}", response_class=HTMLResponse)
def change_document(page: RegistrantPage, form: Form, document_id: RowId) -> Response:
    """Change a document's state, dates or office (the form holds all of them)."""
    values = _typed(form)
    editing: DocumentView | None = None
    try:
        editing = _find(page, document_id)
        changes = Changes(
            status=values["status"], requested_on=_requested_on(values),
            decided_on=_day(values, "decided"), expires_on=_day(values, "expires"),
            office=values["office"],
        )  # fmt: skip
        service.update_document(
            uow=page.runtime.uow(), clock=page.runtime.clock, account_id=page.account_id,
            document_id=document_id, changes=changes,
        )  # fmt: skip
    except DomainError as error:
        if editing is not None:
            values |= {"member": str(editing.member), "kind": editing.kind.value}
        return _page(page, _context(page, editing, values), error)
    return redirect(page, "/documents?done=saved")
