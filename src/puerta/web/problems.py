"""Every error leaves as RFC 9457 problem details: a stable ``code``, in the caller's language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from puerta import i18n
from puerta.errors import DomainError, NotAuthenticated
from puerta.web.deps import request_language
from puerta.web.limits import with_retry_after
from puerta.web.pages.errors import error_page, is_page, login_redirect, reader_language

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


class FieldError(BaseModel):
    field: str = Field(examples=["body.location.lat"])
    type: str = Field(examples=["missing"])
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, the shape of every error response."""

    type: str = Field(examples=["/problems/window_closed"])
    title: str
    status: int
    detail: str = Field(description="What went wrong, in the caller's language.")
    code: str = Field(description="Stable machine code.", examples=["window_closed"])
    instance: str
    errors: list[FieldError] | None = Field(
        default=None, description="With `invalid_request`: the fields at fault."
    )


# The statuses any operation may answer with problem details (README, "Error codes").
PROBLEM_RESPONSES: dict[str, str] = {
    "400": "The body could not be read",
    "401": "Not logged in, or the session has ended",
    "403": "The account's role or port does not allow this",
    "404": "Not found",
    "409": "In conflict with the current state",
    "422": "Not valid (with `invalid_request`, the fields at fault are in `errors`)",
}
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _is_fastapi_422(response: dict[str, Any] | None) -> bool:
    """FastAPI's own 422 (HTTPValidationError), which puerta never sends."""
    media = (response or {}).get("content", {}).get("application/json", {})
    return bool(media.get("schema") == {"$ref": "#/components/schemas/HTTPValidationError"})


def _language(request: Request) -> str:
    return reader_language(request) if is_page(request) else request_language(request)


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


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if is_page(request) and isinstance(exc, NotAuthenticated):
        return login_redirect(request)
    detail = i18n.translate_error(exc, _language(request))
    if is_page(request):
        return with_retry_after(exc, error_page(request, exc.status, detail, exc.code))
    return with_retry_after(exc, problem(request, exc.status, exc.code, detail))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    language = _language(request)
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
    if is_page(request):
        return error_page(request, 422, detail, "invalid_request")
    return problem(request, 422, "invalid_request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "This request failed."))
    detail = i18n.gettext(_language(request), message)
    if is_page(request):
        return error_page(request, exc.status_code, detail, code)
    return problem(request, exc.status_code, code, detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Log the type only: exception text can carry personal data.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    detail = i18n.gettext(_language(request), SERVER_MESSAGE)
    if is_page(request):
        return _plain_error(request, detail)
    return problem(request, 500, "server_error", detail)


def _plain_error(request: Request, detail: str) -> Response:
    # The page machinery itself may be what failed: a minimal page that cannot fail again.
    try:
        return error_page(request, 500, detail, "server_error")
    except Exception:  # noqa: BLE001 (the last resort must always answer)
        return HTMLResponse(f"<!doctype html><title>500</title><p>{escape(detail)}</p>", 500)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Document ``PROBLEM_RESPONSES`` on every operation, replacing FastAPI's default 422."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definition = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definition.pop("$defs", {}), Problem=definition)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if _is_fastapi_422(responses.get("422")):
                del responses["422"]
            for status, description in PROBLEM_RESPONSES.items():
                responses.setdefault(status, {"description": description, "content": content})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _documented_openapi(
    app: FastAPI, generate: Callable[[], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    return openapi


def install(app: FastAPI) -> None:
    """Answer every error with problem details, and say so in the OpenAPI schema."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    app.openapi = _documented_openapi(app, app.openapi)  # type: ignore[method-assign]


UI_MESSAGES = (
    (VALIDATION_MESSAGE, FIELD_MESSAGE, SERVER_MESSAGE)
    + tuple(message for _, message in _HTTP_CODES.values())
    + ("This request failed.",)
)
