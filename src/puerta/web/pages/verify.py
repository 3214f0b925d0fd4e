"""The verifier: ``/verify`` checks a proof's signature in the browser, with no network after
its first visit (static/verify.js, the service worker /verify-sw.js), and ``/verify/online``
is the check by confirmation number and birth date, for anyone, limited per address."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.appointments.domain import PORTS
from puerta.errors import DomainError
from puerta.proofs import lookup
from puerta.ratelimits.limiter import Action
from puerta.web.limits import check, with_retry_after
from puerta.web.pages import forms
from puerta.web.pages.render import N_, STATIC_DIR, render
from puerta.web.pages.session import Form, Page, PageDep, field_text

router = APIRouter(include_in_schema=False)
TITLE = N_("Check a proof")
ONLINE_TITLE = N_("Check by confirmation number")
# The camera, for reading the QR code; nothing else of the device.
CAMERA_ALLOWED = "geolocation=(), camera=(self), microphone=()"

# The texts verify.js shows, translated into the page as JSON (data, never run as script).
SCRIPT_TEXTS = {
    "valid": N_("Valid: puerta issued this proof and it is in force."),
    "expired": N_("Expired: this proof is no longer in force."),
    "revoked": N_(
        "Cancelled: this proof was withdrawn. The appointment was cancelled or the account closed."
    ),
    "forged": N_("Not genuine: this proof was changed, or puerta did not issue it."),
    "unknown_key": N_(
        "Unknown key: this page does not know the key that signed this proof. Connect to the internet, refresh the keys and check again."  # noqa: E501
    ),
    "not_a_proof": N_("This is not a puerta proof."),
    "kind": N_("Kind of proof"),
    "registration": N_("Registration"),
    "appointment": N_("Appointment"),
    "port": N_("Port"),
    "date": N_("Date"),
    "slot": N_("Time"),
    "persons": N_("Number of people"),
    "members": N_("People (initials and year of birth)"),
    "expires": N_("In force until"),
    "keys_age": N_("Keys saved: {age}."),
    "status_age": N_("List of cancelled proofs saved: {age}."),
    "not_saved": N_("Not saved yet. Open this page once with internet."),
    "ready": N_("Ready to check without internet."),
    "offline": N_("No internet: using the saved copies."),
    "no_status": N_("The list of cancelled proofs could not be checked."),
    "no_crypto": N_(
        "This browser cannot check signatures. Update it, or use the check by confirmation number."
    ),  # noqa: E501
    "camera_failed": N_("The camera could not be opened. Type or paste the text instead."),
    "aim": N_("Point the camera at the QR code."),
    "empty": N_("Type or paste the text of the proof first."),
}


def _script_data(page: Page) -> dict[str, Any]:
    return {
        "texts": {key: page.gettext(text) for key, text in SCRIPT_TEXTS.items()},
        "ports": {p.slug: {"name": p.name, "zone": p.timezone} for p in PORTS},
    }


@router.get("/verify", response_class=HTMLResponse)
def verify_page(page: PageDep) -> HTMLResponse:
    """Check a proof's QR code or text, with or without internet."""
    response = render(page, "verify.html", title=page.gettext(TITLE), data=_script_data(page))
    response.headers["Permissions-Policy"] = CAMERA_ALLOWED
    return response


@functools.cache
def _worker_script() -> bytes:
    return (STATIC_DIR / "verify-sw.js").read_bytes()


@router.get("/verify-sw.js")
def service_worker() -> Response:
    """The verifier's service worker, at the root so that its scope can cover /verify."""
    body = _worker_script()
    # Browsers look for a new worker on each visit; no-cache lets them revalidate it.
    headers = {"Cache-Control": "no-cache"}
    return Response(body, media_type="text/javascript", headers=headers)


def _online_page(page: Page, *, status: int = 200, **context: Any) -> HTMLResponse:
    return render(
        page, "verify_online.html", title=page.gettext(ONLINE_TITLE),
        date_order=forms.date_order(page.language), status=status, **context,
    )  # fmt: skip


@router.get("/verify/online", response_class=HTMLResponse)
def online_form(page: PageDep) -> HTMLResponse:
    """The form of the check by confirmation number and birth date."""
    return _online_page(page)


@router.post("/verify/online", response_class=HTMLResponse)
def online_check(page: PageDep, form: Form) -> Response:
    """The appointment's minimal facts, or the form again with why not."""
    birth = forms.date_parts(form, "birth")
    number = field_text(form, "confirmation_number")
    values = {"confirmation_number": number, "birth": birth}
    try:
        check(page.runtime, Action.VERIFY, page.request, None)
        facts = lookup.check_online(
            uow=page.runtime.uow(), clock=page.runtime.clock, confirmation_number=number,
            birth_date=forms.parse_date_parts(birth["day"], birth["month"], birth["year"]),
        )  # fmt: skip
    except DomainError as error:
        shown = _online_page(
            page, status=forms.failed_status(error), form=values,
            error=i18n.translate_error(error, page.language),
        )  # fmt: skip
        return with_retry_after(error, shown)
    return _online_page(page, form=values, facts=facts)
