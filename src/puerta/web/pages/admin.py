"""The administrator's pages: capacity, geofence policies, draws, users and appeals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.accounts import lockout
from puerta.accounts import service as accounts
from puerta.accounts.domain import Role
from puerta.appointments import booking
from puerta.appointments import service as ports
from puerta.appointments.rules import AppealDecision, AppealStatus
from puerta.draws import service as draws
from puerta.errors import DomainError, Invalid, NotFound
from puerta.geo import service as geo
from puerta.web.pages import forms
from puerta.web.pages.officer import row_id
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import AdminPage, Form, Page, field_text

router = APIRouter(include_in_schema=False, prefix="/admin")
TITLES = {
    "admin": N_("Administration"),
    "capacity": N_("Capacity of the ports"),
    "geofence": N_("Geofence policies"),
    "draws": N_("Draws"),
    "users": N_("Users and roles"),
    "appeals": N_("Appeals"),
}


class BadNumber(Invalid):
    code = "bad_number"
    message = "Write a whole number, for example 120."


def _page(page: Page, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return render(
        page, f"admin_{name}.html", title=page.gettext(TITLES[name]), status=status, **context
    )


def _error(page: Page, error: DomainError) -> dict[str, Any]:
    return {
        "status": forms.failed_status(error),
        "error": i18n.translate_error(error, page.language),
    }


@router.get("", response_class=HTMLResponse)
def index(page: AdminPage) -> HTMLResponse:
    return _page(page, "admin")


def _capacity(page: Page, day: str | None, **context: Any) -> HTMLResponse:
    runtime = page.runtime
    today = runtime.today()
    try:
        service_date = forms.parse_date(day) if day else None
    except forms.BadDate as error:
        service_date, context = None, {**context, **_error(page, error)}
    service_date = service_date or today + dt.timedelta(
        days=runtime.settings.service_date_offset_days
    )
    views = ports.list_ports(
        uow=runtime.uow(), default_seats=runtime.settings.port_seats, service_date=service_date
    )
    return _page(page, "capacity", day=service_date, rows=views, **context)


@router.get("/capacity", response_class=HTMLResponse)
def capacity(page: AdminPage, date: str | None = None) -> HTMLResponse:
    """The seats planned at each port on a service date."""
    return _capacity(page, date)


@router.post("/capacity", response_class=HTMLResponse)
def set_capacity(page: AdminPage, form: Form) -> Response:
    """Plan the seats of one port on one date."""
    day = field_text(form, "date")
    try:
        seats_text = field_text(form, "seats")
        if not (seats_text.isascii() and seats_text.isdigit()):  # "²" is a digit to Python
            raise BadNumber()
        ports.set_capacity(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            slug=field_text(form, "port"),
            service_date=forms.parse_date(day),
            seats=int(seats_text),
            actor_id=page.account_id,
            horizon_days=page.runtime.settings.capacity_horizon_days,
        )
    except DomainError as error:
        return _capacity(page, day if _is_date(day) else None, **_error(page, error))
    return redirect(page, f"/admin/capacity?date={day}&done=saved")


def _is_date(text: str) -> bool:
    try:
        forms.parse_date(text)
    except forms.BadDate:
        return False
    return True


@router.get("/geofence", response_class=HTMLResponse)
def geofence(
    page: AdminPage, lat: str | None = None, lon: str | None = None, date: str | None = None
) -> HTMLResponse:
    """The effective-dated policies, and a check of one place on one day."""
    runtime = page.runtime
    context: dict[str, Any] = {"query": {"lat": lat or "", "lon": lon or "", "date": date or ""}}
    if lat or lon:
        try:
            point = forms.parse_location_values(lat or "", lon or "")
            on = forms.parse_date(date) if date else runtime.today()
            context["verdict"] = geo.check_location(
                lat=point[0], lon=point[1], on=on, nationalities=[]
            )
        except DomainError as error:
            context.update(_error(page, error))
    policies = [dataclasses.asdict(p) for p in geo.load_policies()]
    return _page(page, "geofence", policies=policies, **context)


@router.get("/draws", response_class=HTMLResponse)
def draws_page(page: AdminPage, window: str | None = None) -> HTMLResponse:
    """The window's commitment, running a closed window's draw, and its public record."""
    return _draws(page, window)


def _draws(page: Page, window: str | None, **context: Any) -> HTMLResponse:
    runtime = page.runtime
    status = draws.window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
    last = runtime.schedule.last_closed(runtime.clock.now())
    record = None
    try:
        record = draws.get_draw(uow=runtime.uow(), window=forms.parse_date(window or str(last)))
    except (NotFound, forms.BadDate):
        pass
    return _page(page, "draws", window=status, last_closed=last, record=record, **context)


@router.post("/draws", response_class=HTMLResponse)
def run_draw(page: AdminPage, form: Form) -> Response:
    """Run the draw of a closed window (again: its first result)."""
    window = field_text(form, "window")
    try:
        draws.run_draw(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            config=page.runtime.draw_config,
            window=forms.parse_date(window),
            actor_id=page.account_id,
        )
    except DomainError as error:
        return _draws(page, None, **_error(page, error))
    return redirect(page, f"/admin/draws?window={window}&done=saved")


@router.post("/draws/verify", response_class=HTMLResponse)
def verify_draw(page: AdminPage, form: Form) -> HTMLResponse:
    """Re-run a draw from its published inputs and say whether it matches."""
    window = field_text(form, "window")
    try:
        report = draws.verify_draw(
            uow=page.runtime.uow(), schedule=page.runtime.schedule, window=forms.parse_date(window)
        )
    except DomainError as error:
        return _draws(page, None, **_error(page, error))
    return _draws(page, window, verified=report)


@router.get("/users", response_class=HTMLResponse)
def users_page(page: AdminPage, username: str | None = None) -> HTMLResponse:
    """Find an account by username, and change its role."""
    return _users(page, username)


def _users(page: Page, username: str | None, **context: Any) -> HTMLResponse:
    found = None
    if username:
        try:
            found = accounts.get_account(uow=page.runtime.uow(), username=username)
        except DomainError as error:
            context = {**_error(page, error), **context}
    organizations = accounts.list_organizations(uow=page.runtime.uow())
    return _page(
        page, "users", found=found, query=username or "", roles=list(Role),
        organizations=organizations, **context,
    )  # fmt: skip


@router.post("/users/role", response_class=HTMLResponse)
def set_role(page: AdminPage, form: Form) -> Response:
    username = field_text(form, "username")
    try:
        role = Role(field_text(form, "role"))
        accounts.set_role(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            username=username,
            role=role,
            port=field_text(form, "port") or None,
            actor_id=page.account_id,
            organization=field_text(form, "organization") or None,
        )
    except ValueError:
        return _users(page, username, **_error(page, Invalid()))
    except DomainError as error:
        return _users(page, username, **_error(page, error))
    return redirect(page, "/admin/users?done=saved")


@router.post("/users/unlock", response_class=HTMLResponse)
def unlock(page: AdminPage, form: Form) -> Response:
    """Lift the account's login lockout now (audited)."""
    username, admin = field_text(form, "username"), page.account
    assert admin is not None  # the role dependency made sure
    try:
        lockout.unlock_username(
            uow=page.runtime.uow(), clock=page.runtime.clock, guard=page.runtime.limits.login,
            staff=admin, username=username,
        )  # fmt: skip
    except DomainError as error:
        return _users(page, username, **_error(page, error))
    return redirect(page, f"/admin/users?username={quote(username)}&done=saved")


@router.get("/appeals", response_class=HTMLResponse)
def appeals_page(page: AdminPage) -> HTMLResponse:
    """Open appeals; reinstate or uphold each with a note."""
    return _appeals(page)


def _appeals(page: Page, **context: Any) -> HTMLResponse:
    views = booking.list_appeals(uow=page.runtime.uow(), account_id=None, status=AppealStatus.OPEN)
    return _page(page, "appeals", appeals=views, **context)


@router.post("/appeals/{appeal_id}", response_class=HTMLResponse)
def decide(appeal_id: int, page: AdminPage, form: Form) -> Response:
    try:
        decision = AppealDecision(field_text(form, "decision"))
        booking.decide_appeal(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            appeal_id=row_id(str(appeal_id)),
            decision=decision,
            note=field_text(form, "note"),
            actor_id=page.account_id,
            offer_hours=page.runtime.settings.offer_hours,
        )
    except ValueError:
        return _appeals(page, **_error(page, Invalid()))
    except DomainError as error:
        return _appeals(page, **_error(page, error))
    return redirect(page, "/admin/appeals?done=saved")


@router.post("/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
def cancel(appointment_id: int, page: AdminPage, form: Form) -> Response:
    """Cancel an appointment with a reason; the group is told and an appeal opens."""
    try:
        booking.cancel_by_admin(
            uow=page.runtime.uow(),
            clock=page.runtime.clock,
            appointment_id=row_id(str(appointment_id)),
            reason=field_text(form, "reason"),
            actor_id=page.account_id,
        )
    except DomainError as error:
        return _appeals(page, **_error(page, error))
    return redirect(page, "/admin/appeals?done=saved")
