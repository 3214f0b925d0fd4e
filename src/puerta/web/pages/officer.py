"""The port officer's pages: the day's manifest, check-in and no-shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.appointments import checkin
from puerta.appointments.domain import PORTS, PORTS_BY_SLUG
from puerta.errors import DomainError, NotFound
from puerta.web.pages import forms
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import Form, OfficerPage, Page, StaffPage, field_text

router = APIRouter(include_in_schema=False)
TITLE = N_("Port manifest")


def _port(page: Page, asked: str | None) -> str:
    assert page.account is not None
    if page.account.port:
        return page.account.port
    return asked if asked in PORTS_BY_SLUG else PORTS[0].slug


def _day(page: Page, port: str, asked: str | None) -> dt.date:
    try:
        return forms.parse_date(asked or "")
    except forms.BadDate:
        return checkin.port_today(port, page.runtime.clock.now())


def _manifest_page(
    page: Page, port: str, day: dt.date, *, status: int = 200, **context: Any
) -> HTMLResponse:
    entries = checkin.manifest(
        uow=page.runtime.uow(),
        port=port,
        service_date=day,
        officer_port=page.account.port if page.account else None,
    )
    return render(
        page,
        "officer.html",
        title=page.gettext(TITLE),
        date_order=forms.date_order(page.language),
        port=PORTS_BY_SLUG[port],
        day=day,
        entries=entries,
        status=status,
        **context,
    )


@router.get("/officer", response_class=HTMLResponse)
def manifest(page: StaffPage, date: str | None = None, port: str | None = None) -> HTMLResponse:
    """Who is expected at the port on a day, by time slot."""
    slug = _port(page, port)
    return _manifest_page(page, slug, _day(page, slug, date))


@router.post("/officer/checkin", response_class=HTMLResponse)
def check_in(page: OfficerPage, form: Form) -> Response:
    """Check a group in by confirmation number and the birth date of any member."""
    slug = _port(page, None)
    birth = forms.date_parts(form, "birth")
    number = field_text(form, "confirmation_number")
    values: dict[str, Any] = {"confirmation_number": number, "birth": birth}
    try:
        checkin.check_in(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            officer_id=page.account_id,
            officer_port=slug,
            confirmation_number=number,
            birth_date=forms.parse_date_parts(birth["day"], birth["month"], birth["year"]),
        )
    except DomainError as error:
        day = checkin.port_today(slug, page.runtime.clock.now())
        return _manifest_page(
            page,
            slug,
            day,
            status=forms.failed_status(error),
            form=values,
            error=i18n.translate_error(error, page.language),
        )
    return redirect(page, "/officer?done=checked_in")


@router.post("/officer/no-show", response_class=HTMLResponse)
def no_show(page: OfficerPage, form: Form) -> Response:
    """Record that a confirmed group did not come; it may ask again."""
    slug = _port(page, None)
    try:
        checkin.mark_no_show(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            officer_id=page.account_id,
            officer_port=slug,
            appointment_id=row_id(field_text(form, "appointment_id")),
        )
    except DomainError as error:
        day = checkin.port_today(slug, page.runtime.clock.now())
        return _manifest_page(
            page,
            slug,
            day,
            status=forms.failed_status(error),
            error=i18n.translate_error(error, page.language),
        )
    return redirect(page, "/officer?done=saved")


def row_id(text: str) -> int:
    """A row id typed into a form: a positive 32-bit integer, or not found."""
    number = forms.small_number(text, 10)
    if number is None or not 0 < number < 2**31:
        raise NotFound()
    return number
