"""Every error leaves as RFC 9457 problem details: a stable ``code``, in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from puerta import i18n
from puerta.errors import DomainError
from puerta.web.deps import request_language

log = logging.getLogger("puerta.web")
PROBLEM_JSON = "application/problem+json"

_HTTP_CODES: dict[int, tuple[str, str]] = {
    401: ("not_authenticated", "Please log in first."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This action is not possible here."),
    413: ("too_large", "What was sent is too large."),
}
VALIDATION_MESSAGE = "The information sent is not valid. Please check the marked fields."
FIELD_MESSAGE = "This field is missing or not valid."
SERVER_MESSAGE = "Something went wrong on our side. Nothing was saved; please try again."


def problem(request: Request, status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    detail = i18n.translate_error(exc, request_language(request))
    return problem(request, exc.status, exc.code, detail)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    language = request_language(request)
    field_message = i18n.gettext(language, FIELD_MESSAGE)
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "type": err.get("type", "invalid"),
            "message": field_message,
        }
        for err in exc.errors()
    ]
    detail = i18n.gettext(language, VALIDATION_MESSAGE)
    return problem(request, 422, "invalid_request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "This request failed."))
    detail = i18n.gettext(request_language(request), message)
    return problem(request, exc.status_code, code, detail)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # Log the type only: exception text can carry personal data.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    detail = i18n.gettext(request_language(request), SERVER_MESSAGE)
    return problem(request, 500, "server_error", detail)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)


UI_MESSAGES = (
    (VALIDATION_MESSAGE, FIELD_MESSAGE, SERVER_MESSAGE)
    + tuple(message for _, message in _HTTP_CODES.values())
    + ("This request failed.",)
)
