"""An official's phone checks proofs on /verify with no network: the page is visited once while
the server is up, then the server stops and Chromium goes offline, and the reloaded page still
tells a valid proof from a changed, expired, revoked or foreign one, in Spanish, with the facts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from puerta.accounts.domain import Role
from puerta.proofs import cose, domain
from tests.browser.helpers import (
    AFTER_CLOSE,
    FAMILIES,
    NEXT_DAY,
    LiveServer,
    Tab,
    Tabs,
)

pytestmark = pytest.mark.browser
# What the page says, in Spanish (the default), for each outcome.
SAYS = {
    "valid": "Válido",
    "forged": "No es auténtico",
    "expired": "Vencido",
    "revoked": "Cancelado",
    "not_a_proof": "no es un comprobante de puerta",
}


def proofs(server: LiveServer, username: str) -> Any:
    api = server.api
    answer = api._client.get("/me/proofs", headers=api.auth(username))
    assert answer.status_code == 200, answer.text
    return answer.json()


def arrange(server: LiveServer) -> dict[str, Any]:
    """Two families with confirmed appointments at El Paso; the second is then cancelled."""
    api = server.api
    admin = server.add_staff(Role.ADMIN, "es")
    kept, cancelled = api.register("es", "kept"), api.register("es", "cancelled")
    for who in (kept, cancelled):
        api.set_group(who, FAMILIES["es"])
        api.request(who)
    server.clock.set(AFTER_CLOSE)
    api.run_draw(admin)
    server.clock.set(NEXT_DAY)
    for who in (kept, cancelled):
        api.confirm(who)
    shown = proofs(server, kept)
    revoked = proofs(server, cancelled)["appointment"]["token"]
    api.cancel(admin, api.appointment(cancelled)["id"], "Cita duplicada / test reason")
    before = dated_before_its_key(server, shown["appointment"]["token"])
    return {"proofs": shown, "revoked": revoked, "before_its_key": before}


def one_byte_changed(token: str) -> str:
    """The same proof with one byte of its COSE bytes changed (in the signed payload)."""
    cose = bytearray(base45.b45decode(token.removeprefix("PU1:")))
    cose[len(cose) // 2] ^= 0x01
    return "PU1:" + base45.b45encode(bytes(cose)).decode("ascii")


def signed_elsewhere(token: str) -> str:
    """The same claims, signed well but by a key puerta never published."""
    claims = domain.from_map(cbor2.loads(cose.parse(token).payload))
    return cose.sign(claims, Ed25519PrivateKey.generate())


def dated_before_its_key(server: LiveServer, token: str) -> str:
    """Signed with puerta's own key, but dated before that key began to sign."""
    claims = domain.from_map(cbor2.loads(cose.parse(token).payload))
    signer = server.runtime.proof_keys.signer
    issued = domain.seconds(signer.period.signs_from) - 60
    return cose.sign(dataclasses.replace(claims, issued_at=issued), signer.private)


def check(tab: Tab, token: str) -> str:
    """Type the token, press Check, and return what the page answered (its outcome)."""
    result = tab.page.locator("#verify-result")
    result.evaluate("box => box.removeAttribute('data-outcome')")
    tab.page.fill("#verify-token", token)
    tab.page.click("#verify-submit")
    expect(result).to_have_attribute("data-outcome", re.compile(r"[a-z_]+"))
    outcome = str(result.get_attribute("data-outcome"))
    if outcome in SAYS:
        expect(result).to_contain_text(SAYS[outcome])
    tab.check()
    return outcome


def test_a_visited_verifier_checks_proofs_with_the_server_gone_and_no_network(
    live: LiveServer, tabs: Tabs
) -> None:
    arranged = arrange(live)
    appointment = arranged["proofs"]["appointment"]
    registration = arranged["proofs"]["registration"]
    tab = tabs.open(live, locale="es")
    # The phone's clock: the server's, on the day the proofs were shown.
    tab.page.clock.set_fixed_time(NEXT_DAY)
    tab.go("/verify")
    expect(tab.page.locator("#verify-cache")).to_have_attribute("data-ready", "yes")

    live.stop()
    tab.page.context.set_offline(True)
    tab.go("/verify")
    expect(tab.page.locator("#verify-ready")).to_contain_text("Sin internet")
    expect(tab.page.locator("#verify-keys-age")).to_contain_text("Llaves guardadas")

    assert check(tab, appointment["token"]) == "valid"
    facts = tab.page.locator("#verify-result").inner_text()
    assert "El Paso" in facts and "16 de septiembre de 2024" in facts
    assert "AP · 1988" in facts and "LP · 2015" in facts  # Ana María and Luis Pérez
    assert "Ana" not in facts and "HND" not in facts
    assert check(tab, registration["token"]) == "valid"
    assert check(tab, one_byte_changed(appointment["token"])) == "forged"
    assert check(tab, appointment["token"][:-1] + "%") == "forged"
    assert check(tab, signed_elsewhere(appointment["token"])) == "unknown_key"
    assert check(tab, arranged["before_its_key"]) == "forged"
    assert check(tab, arranged["revoked"]) == "revoked"
    assert check(tab, "https://example.org/qr") == "not_a_proof"
    assert check(tab, "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N") == "not_a_proof"

    expiry = dt.datetime.fromisoformat(appointment["expires_at"].replace("Z", "+00:00"))
    tab.page.clock.set_fixed_time(expiry + dt.timedelta(minutes=1))
    assert check(tab, appointment["token"]) == "expired"


def test_checks_on_a_320_pixel_phone_in_arabic_with_the_keyboard_alone(
    live: LiveServer, tabs: Tabs
) -> None:
    token = arrange(live)["proofs"]["registration"]["token"]
    tab = tabs.open(live, locale="ar", viewport={"width": 320, "height": 640})
    tab.page.clock.set_fixed_time(NEXT_DAY)
    tab.go("/verify")
    assert tab.lang_and_dir() == ("ar", "rtl")
    expect(tab.page.locator("#verify-cache")).to_have_attribute("data-ready", "yes")
    for _ in range(40):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate("document.activeElement.id") == "verify-token":
            break
    else:
        raise AssertionError("Tab never reached the proof's text box")
    tab.page.keyboard.insert_text(token)
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.id") == "verify-submit"
    tab.page.keyboard.press("Enter")
    result = tab.page.locator("#verify-result")
    expect(result).to_have_attribute("data-outcome", "valid")
    expect(result).to_be_focused()
    expect(result).to_contain_text("صالح")
    widths = tab.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"
    tab.check()
