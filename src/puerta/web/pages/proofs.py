"""The printable proof: a QR code any official checks offline, the minimal facts, and what
it is in Spanish, English and the person's language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from puerta import i18n
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.errors import DomainError
from puerta.proofs import qr
from puerta.proofs.domain import ProofKind, instant
from puerta.ratelimits.limiter import Action
from puerta.web.api.proofs import issued
from puerta.web.limits import check, with_retry_after
from puerta.web.pages import forms
from puerta.web.pages.render import N_, html_tag, render, text_direction
from puerta.web.pages.session import Page, RegistrantPage

router = APIRouter(include_in_schema=False)
TITLES = {
    ProofKind.REGISTRATION: N_("Proof of registration"),
    ProofKind.APPOINTMENT: N_("Proof of appointment"),
}
WHAT = {
    ProofKind.REGISTRATION: N_(
        "This is a proof, signed by puerta, that this family is registered to ask for an "
        "appointment at a port of entry to the United States."
    ),
    ProofKind.APPOINTMENT: N_(
        "This is a proof, signed by puerta, that this family has an appointment at a port "
        "of entry to the United States, on the day and at the time shown."
    ),
}
HOW = N_(
    "Any official can check it on any phone: open {url} once with internet; after that it "
    "works without internet. Point the camera at this code. The page checks the signature "
    "with puerta's published key and shows the same facts as this page."
)


def _explained(page: Page, kind: ProofKind) -> list[dict[str, str]]:
    """The text in Spanish, English and the person's language (each once)."""
    url = str(page.request.base_url).rstrip("/") + "/verify"
    shown = dict.fromkeys(["es", "en", page.language])
    return [
        {
            "lang": html_tag(lang), "dir": text_direction(lang),
            "title": i18n.gettext(lang, TITLES[kind]), "what": i18n.gettext(lang, WHAT[kind]),
            "how": i18n.gettext(lang, HOW).format(url=url),
        }
        for lang in shown
    ]  # fmt: skip


def _proof_page(page: Page, kind: ProofKind) -> HTMLResponse:
    title = page.gettext(TITLES[kind])
    try:
        # Counted as the API's proofs are: per account and per address.
        check(page.runtime, Action.PROOFS, page.request, page.account_id)
        proof = issued(page.runtime, page.account_id, kind)
    except DomainError as error:
        message = i18n.translate_error(error, page.language)
        shown = render(page, "proof.html", title=title, error=message,
                       status=forms.failed_status(error), proof=None)  # fmt: skip
        return with_retry_after(error, shown)
    claims = proof.claims
    context: dict[str, Any] = {
        "proof": proof, "claims": claims, "kind": kind.value,
        "qr": Markup(qr.svg_inline(proof.token)),  # noqa: S704 (segno's own SVG, no input)
        "expires_at": instant(claims.expires_at), "explained": _explained(page, kind),
        "slot": instant(claims.slot_starts_at) if claims.slot_starts_at is not None else None,
        "port": PORTS_BY_SLUG[claims.port] if claims.port else None,
    }  # fmt: skip
    return render(page, "proof.html", title=title, **context)


@router.get("/proof", response_class=HTMLResponse)
def registration_proof(page: RegistrantPage) -> HTMLResponse:
    """The printable proof of registration."""
    return _proof_page(page, ProofKind.REGISTRATION)


@router.get("/proof/appointment", response_class=HTMLResponse)
def appointment_proof(page: RegistrantPage) -> HTMLResponse:
    """The printable proof of the confirmed appointment."""
    return _proof_page(page, ProofKind.APPOINTMENT)
