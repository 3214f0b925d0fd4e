"""A person's pages: status, family group, request, offer and appointment."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.accounts.domain import MAX_GROUP_SIZE
from puerta.appointments import booking
from puerta.appointments import service as requests
from puerta.appointments.domain import NoCurrentRequest, check_port_choices
from puerta.appointments.rules import NoAppointment
from puerta.draws import service as draws
from puerta.errors import DomainError
from puerta.ratelimits.limiter import Action
from puerta.web.limits import check, with_retry_after
from puerta.web.pages import forms
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import Form, Page, RegistrantPage, field_text

router = APIRouter(include_in_schema=False)
TITLES = {
    "status": N_("My status"),
    "group": N_("My family"),
    "request": N_("Ask for an appointment"),
    "appointment": N_("My appointment"),
    "cancel": N_("Give up the appointment"),
}


def _state(page: Page) -> dict[str, Any]:
    """Everything the status and appointment pages show about the person's group.

    Read in one transaction: each use case joins the unit of work entered here."""
    runtime, account_id = page.runtime, page.account_id
    state: dict[str, Any] = {"group": None, "request": None, "appointment": None}
    with runtime.uow() as uow:
        try:
            state["group"] = accounts.get_group(uow=uow, account_id=account_id)
        except accounts.GroupNotFound:
            pass
        try:
            state["request"] = requests.current_request(
                uow=uow, schedule=runtime.schedule, account_id=account_id
            )
        except NoCurrentRequest:
            pass
        try:
            state["appointment"] = booking.my_appointment(
                uow=uow, clock=runtime.clock, account_id=account_id
            )
        except NoAppointment:
            pass
        state["window"] = draws.window_status(
            uow=uow, clock=runtime.clock, schedule=runtime.schedule
        )
    return state


def _page(page: Page, name: str, **context: Any) -> HTMLResponse:
    return render(page, f"{name}.html", title=page.gettext(TITLES[name]), **context)


def _failed(page: Page, name: str, error: DomainError, **context: Any) -> HTMLResponse:
    message = i18n.translate_error(error, page.language)
    shown = render(
        page,
        f"{name}.html",
        title=page.gettext(TITLES[name]),
        error=message,
        status=forms.failed_status(error),
        **context,
    )
    return with_retry_after(error, shown)


@router.get("/status", response_class=HTMLResponse)
def status(page: RegistrantPage) -> HTMLResponse:
    """Where the group stands, and what happens next and when."""
    return _page(page, "status", **_state(page))


@router.get("/group", response_class=HTMLResponse)
def group_form(page: RegistrantPage) -> HTMLResponse:
    try:
        view = accounts.get_group(uow=page.runtime.uow(), account_id=page.account_id)
        rows = [forms.member_row(m) for m in view.members]
    except accounts.GroupNotFound:
        rows = [dict.fromkeys(forms.MEMBER_FIELDS, "")]
    return _group_page(page, rows)


def _group_context(page: Page, rows: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "rows": rows,
        "nationality_options": _nationalities(page),
        "max_size": MAX_GROUP_SIZE,
        "date_order": forms.date_order(page.language),
    }


def _group_page(page: Page, rows: list[dict[str, str]]) -> HTMLResponse:
    return _page(page, "group", **_group_context(page, rows))


@router.post("/group", response_class=HTMLResponse)
def save_group(page: RegistrantPage, form: Form) -> Response:
    """Add or remove a row, or save the whole family group."""
    rows = forms.member_rows(form)
    action = field_text(form, "action", "save")
    if action == "add" and len(rows) < MAX_GROUP_SIZE:
        return _group_page(page, [*rows, dict.fromkeys(forms.MEMBER_FIELDS, "")])
    if action.startswith("remove-") and len(rows) > 1:
        index = action.removeprefix("remove-")
        return _group_page(page, [r for i, r in enumerate(rows) if str(i) != index])
    try:
        members = [forms.to_member(row) for row in rows]
        accounts.set_group(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            account_id=page.account_id,
            members=members,
            lock=page.runtime.group_lock,
        )
    except DomainError as error:
        return _failed(page, "group", error, **_group_context(page, rows))
    return redirect(page, "/status?done=group_saved")


def _nationalities(page: Page) -> Any:
    return forms.nationality_options(
        page.language, page.gettext(N_("Most common")), page.gettext(N_("All countries"))
    )


@router.get("/request", response_class=HTMLResponse)
def request_form(page: RegistrantPage) -> HTMLResponse:
    form = {
        "idempotency_key": secrets.token_urlsafe(16),
        "ports": [],
        "standing": page.runtime.settings.standing_requests,
    }
    return _page(page, "request", form=form, **_state(page))


def _request_values(form: FormData) -> dict[str, Any]:
    # The three choice lists submit in page order (first, second, third); unused ones are empty.
    return {
        "idempotency_key": field_text(form, "idempotency_key"),
        "ports": [p for p in form.getlist("ports") if isinstance(p, str) and p],
        "standing": form.get("standing") == "on",
        "lat": field_text(form, "lat"),
        "lon": field_text(form, "lon"),
    }


@router.post("/request", response_class=HTMLResponse)
def make_request(page: RegistrantPage, form: Form) -> Response:
    """Check the ports and place, show them back in order, then enter the group in the draw.

    ``action``: ``review`` shows the choices back, ``edit`` returns to the form, ``send``
    (the default) makes the request. The location is checked, never stored."""
    values = _request_values(form)
    action = field_text(form, "action", "send")
    if action == "edit":
        return _page(page, "request", form=values, **_state(page))
    try:
        check_port_choices(values["ports"])
        lat, lon = forms.parse_location(form)
        if action == "review":
            return _page(page, "request", form=values, review=True, **_state(page))
        _send_request(page, values, lat, lon)
    except DomainError as error:
        return _failed(page, "request", error, form=values, **_state(page))
    return redirect(page, "/status?done=requested")


def _send_request(page: Page, values: dict[str, Any], lat: float, lon: float) -> None:
    runtime = page.runtime
    # Counted as the API's POST /requests is: per account and per address.
    check(runtime, Action.REQUESTS, page.request, page.account_id)
    requests.make_request(
        uow=runtime.uow(),
        clock=runtime.clock,
        schedule=runtime.schedule,
        account_id=page.account_id,
        ports=values["ports"],
        lat=lat,
        lon=lon,
        idempotency_key=values["idempotency_key"],
        standing=values["standing"],
        rng=runtime.rng,
    )


@router.post("/request/withdraw", response_class=HTMLResponse)
def withdraw(page: RegistrantPage, form: Form) -> Response:
    """Take the group out of the coming draws."""
    runtime = page.runtime
    try:
        requests.withdraw_request(
            uow=runtime.uow(),
            clock=runtime.clock,
            schedule=runtime.schedule,
            account_id=page.account_id,
            drawn=runtime.window_drawn,
        )
    except DomainError as error:
        return _failed(page, "status", error, **_state(page))
    return redirect(page, "/status?done=withdrawn")


@router.get("/appointment", response_class=HTMLResponse)
def appointment(page: RegistrantPage) -> HTMLResponse:
    """The offer to confirm, or the appointment and what to bring."""
    return _page(page, "appointment", form={}, **_state(page))


@router.post("/appointment/confirm", response_class=HTMLResponse)
def confirm(page: RegistrantPage, form: Form) -> Response:
    """Confirm the offer from inside the geofence; a time and a number are given."""
    runtime = page.runtime
    values = {"lat": field_text(form, "lat"), "lon": field_text(form, "lon")}
    try:
        lat, lon = forms.parse_location(form)
        booking.confirm_offer(
            uow=runtime.uow(),
            clock=runtime.clock,
            rng=runtime.rng,
            schedule=runtime.schedule,
            slots=runtime.slots,
            account_id=page.account_id,
            lat=lat,
            lon=lon,
        )
    except DomainError as error:
        return _failed(page, "appointment", error, form=values, **_state(page))
    return redirect(page, "/appointment?done=confirmed")


@router.get("/appointment/cancel", response_class=HTMLResponse)
def cancel_form(page: RegistrantPage) -> HTMLResponse:
    return _page(page, "cancel", **_state(page))


@router.post("/appointment/cancel", response_class=HTMLResponse)
def cancel(page: RegistrantPage, form: Form) -> Response:
    """Give up the offer or appointment; the places go to the next draw."""
    try:
        booking.cancel_by_person(
            uow=page.runtime.uow(), clock=page.runtime.clock, account_id=page.account_id
        )
    except DomainError as error:
        return _failed(page, "cancel", error, **_state(page))
    return redirect(page, "/status?done=cancelled")
