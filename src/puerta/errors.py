"""Domain errors: a stable machine ``code``, an HTTP-ish ``status`` and an English message id.

The message id is translated at the edge (web, CLI) into the person's language; ``params``
fill its ``{placeholders}`` after translation. Standard library only, so domain code may use it.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "Something went wrong."

    def __init__(self, **params: object) -> None:
        super().__init__(self.code)
        self.params = params

    def __str__(self) -> str:
        return self.message.format(**self.params) if self.params else self.message


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "Not found."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    message = "You are not allowed to do this."


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    message = "Please log in first."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message = "This conflicts with the current state."


class Invalid(DomainError):
    code = "invalid"
    status = 422
    message = "The information sent is not valid."
