"""Reporting a crime from any phone: the report form, the receipt, the follow-up, statistics.

No JavaScript is needed: the state is chosen first and the form comes back (as the answer
to that POST) with the state's municipalities. Every answer holding report data is the
answer to a POST, never a redirect or an address with a query string, and pages are never
cached (``Cache-Control: no-store``, web/app.py), so nothing stays in the browser's history.
The triage pages live in pages/triage.py, included here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from puerta import i18n
from puerta.errors import DomainError
from puerta.geo.service import state_names
from puerta.incidents import keys, service
from puerta.incidents.domain import IncidentType, Perpetrator, ReferredTo, Status
from puerta.incidents.places import municipalities_of
from puerta.incidents.service import NewReport, ReporterView
from puerta.ratelimits.limiter import Action
from puerta.web.limits import check, refused_status, with_retry_after
from puerta.web.pages import forms
from puerta.web.pages.render import N_, render
from puerta.web.pages.session import Form, Page, PageDep, field_text

router = APIRouter(include_in_schema=False)
REPORT_TITLE = N_("Report a crime")
RECEIPT_TITLE = N_("Your receipt")
FOLLOW_UP_TITLE = N_("Follow up a report")
STATS_TITLE = N_("Reported crimes: figures")
# Where the quick exit leaves for: a page that says nothing of what was open before.
NEUTRAL_PAGE = "https://www.google.com/"
FIRST_YEAR = 2019
TYPE_NAMES = {
    IncidentType.KIDNAPPING.value: N_("Kidnapping"),
    IncidentType.SEXUAL_ABUSE.value: N_("Sexual abuse"),
    IncidentType.TORTURE.value: N_("Torture"),
    IncidentType.EXTORTION.value: N_("Extortion"),
    IncidentType.ROBBERY.value: N_("Robbery"),
    IncidentType.ABUSE_BY_INM.value: N_("Abuse by immigration officers (INM)"),
    IncidentType.ABUSE_BY_NATIONAL_GUARD.value: N_("Abuse by the National Guard"),
    IncidentType.ABUSE_BY_POLICE.value: N_("Abuse by the police"),
    IncidentType.DETENTION_OF_REGISTERED_PERSON.value: N_(
        "Detention of a person with an appointment or registration"
    ),
    IncidentType.DEPORTATION_OF_REGISTERED_PERSON.value: N_(
        "Deportation of a person with an appointment or registration"
    ),
    IncidentType.FORCED_EVICTION.value: N_("Forced eviction"),
    IncidentType.OTHER.value: N_("Something else"),
}
PERPETRATOR_NAMES = {
    Perpetrator.ORGANIZED_CRIME.value: N_("Organized crime (a gang, a cartel)"),
    Perpetrator.INM.value: N_("Immigration officers (INM)"),
    Perpetrator.NATIONAL_GUARD.value: N_("National Guard"),
    Perpetrator.POLICE.value: N_("Police"),
    Perpetrator.OTHER.value: N_("Someone else"),
    Perpetrator.UNKNOWN.value: N_("I do not know"),
}
STATUS_NAMES = {
    Status.RECEIVED.value: N_("Received: not read yet"),
    Status.IN_REVIEW.value: N_("Being read by the team"),
    Status.REFERRED.value: N_("Sent on for help"),
    Status.CLOSED.value: N_("Closed"),
}
REFERRAL_NAMES = {
    ReferredTo.LEGAL_AID.value: N_("Legal aid"),
    ReferredTo.PROSECUTOR.value: N_("A prosecutor"),
    ReferredTo.EXTERNAL_SUPPORT_MECHANISM.value: N_(
        "The External Support Mechanism for Search and Investigation"
    ),
    ReferredTo.HUMAN_RIGHTS_COMMISSION.value: N_("A human rights commission"),
}
FIELDS: tuple[str, ...] = ("incident_type", "perpetrator", "state", "municipality")
FIELDS += ("year", "month", "day", "text", "contact")


def labels() -> dict[str, Any]:
    return {
        "type_names": TYPE_NAMES, "perpetrator_names": PERPETRATOR_NAMES,
        "incident_status_names": STATUS_NAMES, "referral_names": REFERRAL_NAMES,
    }  # fmt: skip


def _years(page: Page) -> list[int]:
    return list(range(service.today_of(page.runtime.clock).year, FIRST_YEAR - 1, -1))


def _form_page(
    page: Page, values: dict[str, str], error: DomainError | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "values": values, "states": state_names(), "years": _years(page),
        "municipalities": municipalities_of(values.get("state", "")), "neutral": NEUTRAL_PAGE,
        **labels(),
    }  # fmt: skip
    if error is not None:
        context |= {"error": i18n.translate_error(error, page.language),
                    "status": refused_status(error)}  # fmt: skip
    shown = render(page, "incident_report.html", title=page.gettext(REPORT_TITLE), **context)
    return shown if error is None else with_retry_after(error, shown)


def _typed(form: FormData) -> dict[str, str]:
    return {name: field_text(form, name) for name in FIELDS}


def _day(text: str) -> int | None:
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else 0


def _month(values: dict[str, str]) -> str:
    month = forms.small_number(values["month"], 2)
    return "" if month is None else f"{values['year']}-{month:02d}"


def _new_report(values: dict[str, str]) -> NewReport:
    return NewReport(
        incident_type=values["incident_type"], perpetrator=values["perpetrator"],
        state=values["state"], municipality=values["municipality"], month=_month(values),
        day=_day(values["day"]), text=values["text"], contact=values["contact"] or None,
    )  # fmt: skip


@router.get("/report", response_class=HTMLResponse)
def report_form(page: PageDep) -> HTMLResponse:
    """The report form, empty."""
    return _form_page(page, dict.fromkeys(FIELDS, ""))


@router.post("/report", response_class=HTMLResponse)
def report(page: PageDep, form: Form) -> HTMLResponse:
    """Choose the state (the form comes back with its municipalities), or send the report."""
    values = _typed(form)
    if field_text(form, "action") != "send":
        if values["municipality"][:2] != values["state"][:2]:
            values["municipality"] = ""
        return _form_page(page, values)
    runtime = page.runtime
    try:
        # Sending is counted per address (choosing the state is not); nothing else of them.
        check(runtime, Action.INCIDENTS, page.request, None)
        receipt = service.submit_report(
            uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(),
            team=keys.team_key(runtime.settings.incidents_key_file), report=_new_report(values),
            states=state_names(),
        )  # fmt: skip
    except DomainError as error:
        return _form_page(page, values, error)
    return render(
        page, "incident_receipt.html", title=page.gettext(RECEIPT_TITLE), receipt=receipt,
        neutral=NEUTRAL_PAGE,
    )  # fmt: skip


def _follow_up_page(
    page: Page, receipt: str = "", view: ReporterView | None = None, **more: Any
) -> HTMLResponse:
    return render(
        page, "incident_follow_up.html", title=page.gettext(FOLLOW_UP_TITLE),
        receipt=receipt, view=view, neutral=NEUTRAL_PAGE, **labels(), **more,
    )  # fmt: skip


@router.get("/report/follow-up", response_class=HTMLResponse)
def follow_up_form(page: PageDep) -> HTMLResponse:
    """Type the receipt to see the answers, or to add information."""
    return _follow_up_page(page)


@router.post("/report/follow-up", response_class=HTMLResponse)
def follow_up(page: PageDep, form: Form) -> HTMLResponse:
    """Look the report up, or add information to it."""
    runtime, receipt = page.runtime, field_text(form, "receipt")
    text = field_text(form, "text")
    try:
        check(runtime, Action.INCIDENTS, page.request, None)
        if field_text(form, "action") == "add":
            view = service.add_follow_up(
                uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(),
                team=keys.team_key(runtime.settings.incidents_key_file), receipt=receipt,
                text=text,
            )  # fmt: skip
            return _follow_up_page(page, receipt, view, notice=page.gettext(ADDED))
        view = service.look_up(uow=runtime.uow(), secret=runtime.keys.signing(), receipt=receipt)
    except DomainError as error:
        detail = i18n.translate_error(error, page.language)
        shown = _follow_up_page(
            page, receipt, None, error=detail, status=refused_status(error), text=text
        )
        return with_retry_after(error, shown)
    return _follow_up_page(page, receipt, view)


ADDED = N_("Thank you. Your information was added to the report.")


@router.get("/incidents/stats", response_class=HTMLResponse)
def statistics(page: PageDep) -> HTMLResponse:
    """Reports by type, perpetrator, state and month; counts from 1 to 9 read "fewer than 10"."""
    figures = service.incident_statistics(uow=page.runtime.uow(), states=state_names())
    return render(
        page, "incident_stats.html", title=page.gettext(STATS_TITLE), figures=figures,
        states=state_names(), **labels(),
    )  # fmt: skip


from puerta.web.pages import triage  # noqa: E402  (its routes join this router)

router.include_router(triage.router)
