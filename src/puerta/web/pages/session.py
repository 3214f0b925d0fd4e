"""Who is looking at a page: the session cookie, the language and the CSRF token.

The session cookie holds a token issued by the same login use case as the API's bearer
tokens (stored only as a hash). CSRF tokens are an HMAC of a random per-browser cookie and
the session, masked anew on every page so that a compressed page never repeats them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.accounts.domain import Role, require_role
from puerta.accounts.service import AccountView
from puerta.audit.domain import OnBehalf
from puerta.errors import Forbidden, NotAuthenticated
from puerta.runtime import Runtime
from puerta.web.deps import RuntimeDep

SESSION_COOKIE = "puerta_session"
CSRF_COOKIE = "puerta_csrf"
LANGUAGE_COOKIE = "puerta_lang"
# While a caseworker acts for a person, their own session waits here (pages/caseworker.py).
STAFF_COOKIE = "puerta_staff_session"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "This form has expired. Go back, reload the page and try again."


class LoginRequired(NotAuthenticated):
    """A page needs a logged-in account: answered with a redirect to the login page."""


@dataclass
class Page:
    """One page view: the caller, their language, and the cookies to set on the answer."""

    request: Request
    runtime: Runtime
    account: AccountView | None
    language: str
    csrf_seed: str
    session_token: str | None
    set_cookies: dict[str, str | None] = field(default_factory=dict)

    @property
    def account_id(self) -> int:
        """The logged-in account's id; the role dependencies have made sure there is one."""
        if self.account is None:
            raise LoginRequired()
        return self.account.id

    def csrf_token(self) -> str:
        """A fresh masked token for one form."""
        raw = _csrf_digest(self.runtime, self.csrf_seed, self.session_token)
        mask = secrets.token_bytes(len(raw))
        return (mask + bytes(a ^ b for a, b in zip(raw, mask, strict=True))).hex()

    def gettext(self, message: str) -> str:
        return i18n.gettext(self.language, message)

    def apply_cookies(self, response: Response) -> None:
        secure = self.runtime.settings.secure_cookies
        for name, value in self.set_cookies.items():
            if value is None:
                response.delete_cookie(name, path="/", secure=secure, httponly=True)
                continue
            max_age = (
                self.runtime.settings.token_ttl_hours * 3600
                if name in (SESSION_COOKIE, STAFF_COOKIE)
                else 365 * 24 * 3600
            )
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                path="/",
                secure=secure,
                httponly=True,
                samesite="strict" if name == CSRF_COOKIE else "lax",
            )


def _csrf_digest(runtime: Runtime, seed: str, session_token: str | None) -> bytes:
    message = f"{seed}|{session_token or ''}".encode()
    # The deployment's key, the same in every worker (puerta.deployment.Keys).
    return hmac.new(runtime.keys.signing(), message, hashlib.sha256).digest()


def _valid_token(page: Page, submitted: str) -> bool:
    try:
        data = bytes.fromhex(submitted)
    except ValueError:
        return False
    if len(data) != 64:
        return False
    mask, masked = data[:32], data[32:]
    raw = bytes(a ^ b for a, b in zip(masked, mask, strict=True))
    return hmac.compare_digest(raw, _csrf_digest(page.runtime, page.csrf_seed, page.session_token))


def _account(runtime: Runtime, token: str | None) -> AccountView | None:
    if not token:
        return None
    try:
        return accounts.account_for_token(uow=runtime.uow(), clock=runtime.clock, token=token)
    except NotAuthenticated:
        return None


def page_language(request: Request, runtime: Runtime, account: AccountView | None) -> str:
    """The account's language; else the switcher's cookie; else Accept-Language."""
    if account is not None:
        return account.language
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in i18n.available_languages():
        return str(chosen)
    header = request.headers.get("accept-language")
    return i18n.negotiate(header, runtime.settings.default_language)


def get_page(request: Request, runtime: RuntimeDep) -> Page:
    token = request.cookies.get(SESSION_COOKIE)
    account = _account(runtime, token)
    seed = request.cookies.get(CSRF_COOKIE, "")
    page = Page(
        request=request,
        runtime=runtime,
        account=account,
        language=page_language(request, runtime, account),
        csrf_seed=seed,
        session_token=token if account else None,
    )
    if token and account is None:
        page.set_cookies[SESSION_COOKIE] = None
    if account is not None and account.acting_id is not None:
        # A caseworker acting for a person (a delegated session): audit names them both.
        runtime.acting = OnBehalf(actor_id=account.acting_id, account_id=account.id)
    if len(seed) != 43:
        page.csrf_seed = secrets.token_urlsafe(32)
        page.set_cookies[CSRF_COOKIE] = page.csrf_seed
    request.state.page = page
    request.state.language = page.language
    return page


PageDep = Annotated[Page, Depends(get_page)]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return True
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def read_form(page: PageDep) -> FormData:
    """The posted form, once its CSRF token and origin are checked."""
    form = await page.request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not _same_origin(page.request):
        raise CsrfFailed()
    if not _valid_token(page, token):
        raise CsrfFailed()
    return form


Form = Annotated[FormData, Depends(read_form)]


def page_for(*roles: Role) -> Callable[[Page], Page]:
    """A page dependency that lets through only logged-in accounts holding one of ``roles``."""
    allowed = frozenset(roles)

    def check(page: PageDep) -> Page:
        if page.account is None:
            raise LoginRequired()
        require_role(page.account.role, allowed)
        return page

    return check


RegistrantPage = Annotated[Page, Depends(page_for(Role.REGISTRANT))]
StaffPage = Annotated[Page, Depends(page_for(Role.OFFICER, Role.ADMIN))]
OfficerPage = Annotated[Page, Depends(page_for(Role.OFFICER))]
AdminPage = Annotated[Page, Depends(page_for(Role.ADMIN))]
CaseworkerPage = Annotated[Page, Depends(page_for(Role.CASEWORKER))]
CaseStaffPage = Annotated[Page, Depends(page_for(Role.CASEWORKER, Role.ADMIN))]
LoggedInPage = Annotated[Page, Depends(page_for(*Role))]


def start_session(page: Page, token: str) -> None:
    """After login: the new session cookie, and a new CSRF seed bound to it."""
    page.session_token = token
    page.set_cookies[SESSION_COOKIE] = token
    page.csrf_seed = secrets.token_urlsafe(32)
    page.set_cookies[CSRF_COOKIE] = page.csrf_seed


def end_session(page: Page) -> None:
    if page.session_token:
        accounts.log_out(uow=page.runtime.uow(), token=page.session_token)
    page.session_token = None
    page.account = None
    page.set_cookies[SESSION_COOKIE] = None
    # The triage team's unlocked keys (pages/triage.py) end with the session.
    page.set_cookies["puerta_incidents_unlock"] = None


def field_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default
