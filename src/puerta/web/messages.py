"""Every translatable message id: the catalogs must hold each of them in every language."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from babel.messages.extract import extract_from_file
from jinja2.ext import babel_extract

import puerta
from puerta import dates, i18n
from puerta.accounts.domain import GROUP_PROBLEMS
from puerta.accounts.rights import message_ids as rights_messages
from puerta.errors import DomainError
from puerta.notifications.domain import message_ids as notification_messages
from puerta.vulnerability.domain import message_ids as need_messages
from puerta.web import problems


def _import_all() -> None:
    for module in pkgutil.walk_packages(puerta.__path__, "puerta."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def all_messages() -> list[str]:
    """The message ids of every domain error, the HTTP layer and the geofence reasons."""
    _import_all()
    errors: list[type[DomainError]] = [DomainError, *_subclasses(DomainError)]
    ids = [cls.message for cls in errors]
    ids += list(problems.UI_MESSAGES) + list(i18n.REASON_TEXT.values()) + [i18n.OTHER_REASON]
    ids += list(GROUP_PROBLEMS) + notification_messages() + page_messages()
    ids += dates.message_ids() + need_messages() + rights_messages()
    return sorted(set(ids))


def page_messages() -> list[str]:
    """Texts of the pages: ``_()`` in templates and ``N_()`` in the page modules."""
    web = Path(__file__).parent
    found: list[str] = []
    for template in sorted((web / "templates").glob("*.html")):
        found += _extract(babel_extract, template, "_")
    for module in sorted((web / "pages").glob("*.py")):
        found += _extract("python", module, "N_")
    return found


def _extract(method: object, path: Path, keyword: str) -> list[str]:
    messages = extract_from_file(method, str(path), keywords={keyword: None})  # type: ignore[arg-type]
    return [message for _, message, _, _ in messages if isinstance(message, str)]
