"""Accounts, roles and family groups: pure rules, standard library only."""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from dataclasses import dataclass

from puerta.errors import Conflict, DomainError, Forbidden, Invalid, NotAuthenticated

MAX_GROUP_SIZE = 12
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 100
MAX_LANGUAGES = 10
MAX_DOCUMENT_LENGTH = 64
OLDEST_BIRTH_YEAR = 1900

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
_PHONE_NOISE = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


class Role(enum.StrEnum):
    REGISTRANT = "registrant"
    CASEWORKER = "caseworker"
    OFFICER = "officer"
    ADMIN = "admin"


class InvalidUsername(Invalid):
    code = "invalid_username"
    message = (
        "Use an e-mail address or a phone number with its country code, e.g. +52 55 1234 5678."
    )


class WeakPassword(Invalid):
    code = "weak_password"
    message = "The password must have at least {minimum} characters."


class UsernameTaken(Conflict):
    code = "username_taken"
    message = "An account with this e-mail or phone number already exists."


class BadCredentials(NotAuthenticated):
    code = "bad_credentials"
    message = "The username or password is not correct."


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "Your session has ended. Please log in again."


class RoleRequired(Forbidden):
    code = "role_required"
    message = "This needs one of these roles: {roles}."


class UnsupportedLanguage(Invalid):
    code = "unsupported_language"
    message = "This language is not available yet. Available: {languages}."


class InvalidGroup(Invalid):
    code = "invalid_group"
    message = "The family group is not valid: {problem}."


class OfficerNeedsPort(DomainError):
    code = "officer_needs_port"
    status = 422
    message = "An officer account must be assigned to one port of entry."


def normalize_username(raw: str) -> str:
    """An e-mail (lower-cased) or a phone number (digits with a leading +)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if "@" in value:
        if not _EMAIL.match(value) or len(value) > 254:
            raise InvalidUsername()
        return value.lower()
    phone = _PHONE_NOISE.sub("", value)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.match(phone):
        raise InvalidUsername()
    return phone if phone.startswith("+") else "+" + phone


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(minimum=MIN_PASSWORD_LENGTH)


def check_language(language: str, available: frozenset[str]) -> str:
    if language not in available:
        raise UnsupportedLanguage(languages=", ".join(sorted(available)))
    return language


# What can be wrong with a group: fixed phrases, so each is translated whole.
GROUP_SIZE = "a group has 1 to 12 members"
NAME_LENGTH = "each name must have 1 to 100 characters"
NAME_CHARACTERS = "a name has characters that are not allowed"
BIRTH_DATE = "each birth date must be in the past, after 1900"
NATIONALITY = "each nationality must be a three-letter ISO 3166 code, such as HTI"
LANGUAGES = "languages must be language codes such as es, ht or quc"
DOCUMENT = "an ID document must have at most 64 characters"
GROUP_PROBLEMS = (
    GROUP_SIZE,
    NAME_LENGTH,
    NAME_CHARACTERS,
    BIRTH_DATE,
    NATIONALITY,
    LANGUAGES,
    DOCUMENT,
)


@dataclass(frozen=True)
class Member:
    given_names: str
    family_names: str
    birth_date: dt.date
    nationality: str
    languages: tuple[str, ...]
    id_document: str | None = None


def _clean_name(value: str) -> str:
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidGroup(problem=NAME_LENGTH)
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidGroup(problem=NAME_CHARACTERS)
    return cleaned


def clean_member(member: Member, *, today: dt.date) -> Member:
    """Normalize one member, raising ``InvalidGroup`` with the first problem found."""
    if not dt.date(OLDEST_BIRTH_YEAR, 1, 1) <= member.birth_date <= today:
        raise InvalidGroup(problem=BIRTH_DATE)
    nationality = member.nationality.strip().upper()
    if not _ISO3.match(nationality):
        raise InvalidGroup(problem=NATIONALITY)
    languages = tuple(dict.fromkeys(lang.strip().lower() for lang in member.languages))
    if len(languages) > MAX_LANGUAGES or not all(_LANGUAGE_TAG.match(x) for x in languages):
        raise InvalidGroup(problem=LANGUAGES)
    document = member.id_document.strip() if member.id_document else None
    if document is not None and not 0 < len(document) <= MAX_DOCUMENT_LENGTH:
        raise InvalidGroup(problem=DOCUMENT)
    return Member(
        given_names=_clean_name(member.given_names),
        family_names=_clean_name(member.family_names),
        birth_date=member.birth_date,
        nationality=nationality,
        languages=languages,
        id_document=document or None,
    )


def clean_group(members: list[Member], *, today: dt.date) -> list[Member]:
    """A family group of 1 to 12 valid members."""
    if not 1 <= len(members) <= MAX_GROUP_SIZE:
        raise InvalidGroup(problem=GROUP_SIZE)
    return [clean_member(m, today=today) for m in members]


def require_role(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        raise RoleRequired(roles=", ".join(sorted(r.value for r in allowed)))
