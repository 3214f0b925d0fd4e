"""Accounts, roles and family groups: pure rules, standard library only."""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from puerta.errors import Conflict, DomainError, Forbidden, Invalid, NotAuthenticated

MAX_GROUP_SIZE = 12
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 100
MAX_LANGUAGES = 10
MAX_DOCUMENT_LENGTH = 64
OLDEST_BIRTH_YEAR = 1900

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
_PHONE_NOISE = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")
# language[-Script][-REGION], the parts of BCP 47 a person's spoken languages need.
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?$")


class Role(enum.StrEnum):
    REGISTRANT = "registrant"
    CASEWORKER = "caseworker"
    OFFICER = "officer"
    ADMIN = "admin"
    # A caseworker of the incidents team: triages the reports (puerta.incidents).
    INCIDENTS = "incidents"


class InvalidUsername(Invalid):
    code = "invalid_username"
    message = (
        "Use an e-mail address or a phone number with its country code, e.g. +52 55 1234 5678."
    )


class WeakPassword(Invalid):
    code = "weak_password"
    message = "The password must have at least {minimum} characters."


class PasswordCharacters(Invalid):
    code = "password_characters"
    message = (
        "The password has control or invisible characters; "
        "use only letters, numbers, spaces and signs."
    )


class CommonPassword(Invalid):
    code = "common_password"
    message = "This password is one of the most common ones and easy to guess; choose another."


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
        # No control, invisible or unpaired-surrogate characters: PostgreSQL cannot store
        # a NUL, and a zero-width space would make a look-alike of someone's address.
        unprintable = any(unicodedata.category(ch).startswith("C") for ch in value)
        if unprintable or not _EMAIL.match(value) or len(value) > 254:
            raise InvalidUsername()
        return value.lower()
    phone = _PHONE_NOISE.sub("", value)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.match(phone):
        raise InvalidUsername()
    return phone if phone.startswith("+") else "+" + phone


def check_password(password: str, *, common: Container[str]) -> None:
    """Long enough, no control characters, and not one of the ``common`` (lower-case) ones."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(minimum=MIN_PASSWORD_LENGTH)
    if any(unicodedata.category(ch).startswith("C") for ch in password):
        raise PasswordCharacters()
    if password.lower() in common:
        raise CommonPassword()


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
DUPLICATE = "two members have the same names and birth date"
GROUP_PROBLEMS = (
    GROUP_SIZE,
    NAME_LENGTH,
    NAME_CHARACTERS,
    BIRTH_DATE,
    NATIONALITY,
    LANGUAGES,
    DOCUMENT,
    DUPLICATE,
)


@dataclass(frozen=True)
class KnownCodes:
    """The codes members are checked against; the service passes them in (``accounts.codes``)."""

    countries: frozenset[str]  # ISO 3166-1 alpha-3, upper case
    languages: Mapping[str, str]  # ISO 639 code, lower case -> the shortest code of it
    scripts: frozenset[str]  # ISO 15924, title case: "Hans"
    regions: frozenset[str]  # ISO 3166-1 alpha-2 and UN M.49 numeric regions


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


def canonical_language(tag: str, known: KnownCodes) -> str | None:
    """A BCP 47 tag in its usual spelling ("HT" -> "ht", "zh_hans" -> "zh-Hans"), or None."""
    found = _LANGUAGE_TAG.match(tag.strip().replace("_", "-").lower())
    if found is None or found[1] not in known.languages:
        return None
    language, script, region = known.languages[found[1]], found[2], found[3]
    if script is not None and script.title() not in known.scripts:
        return None
    if region is not None and region.upper() not in known.regions:
        return None
    return "-".join(
        part for part in (language, script and script.title(), region and region.upper()) if part
    )


def _clean_languages(languages: Iterable[str], known: KnownCodes) -> tuple[str, ...]:
    tags = [canonical_language(tag, known) for tag in languages]
    cleaned = tuple(dict.fromkeys(tag for tag in tags if tag is not None))
    if None in tags or len(cleaned) > MAX_LANGUAGES:
        raise InvalidGroup(problem=LANGUAGES)
    return cleaned


def clean_member(member: Member, *, today: dt.date, known: KnownCodes) -> Member:
    """Normalize one member, raising ``InvalidGroup`` with the first problem found."""
    # A datetime is a date too, but a birth date has no time of day.
    if type(member.birth_date) is not dt.date or not (
        dt.date(OLDEST_BIRTH_YEAR, 1, 1) <= member.birth_date <= today
    ):
        raise InvalidGroup(problem=BIRTH_DATE)
    nationality = member.nationality.strip().upper()
    if nationality not in known.countries:
        raise InvalidGroup(problem=NATIONALITY)
    languages = _clean_languages(member.languages, known)
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


def _person(member: Member) -> tuple[str, str, dt.date]:
    # "Marie Ange" and "marie ange" or "MarieAnge" born the same day are one person typed twice.
    given, family = (
        "".join(n.split()).casefold() for n in (member.given_names, member.family_names)
    )
    return given, family, member.birth_date


def clean_group(members: list[Member], *, today: dt.date, known: KnownCodes) -> list[Member]:
    """A family group of 1 to 12 valid members, no one listed twice."""
    if not 1 <= len(members) <= MAX_GROUP_SIZE:
        raise InvalidGroup(problem=GROUP_SIZE)
    cleaned = [clean_member(m, today=today, known=known) for m in members]
    if len({_person(m) for m in cleaned}) < len(cleaned):
        raise InvalidGroup(problem=DUPLICATE)
    return cleaned


def require_role(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        raise RoleRequired(roles=", ".join(sorted(r.value for r in allowed)))


# Organizations and caseworkers ------------------------------------------------------------

_ORG_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_ORG_NAME_LENGTH = 200


class InvalidOrganization(Invalid):
    code = "invalid_organization"
    message = (
        "An organization needs a slug of lower-case letters, digits and hyphens "
        "(up to 64) and a name of 1 to 200 characters."
    )


class OrganizationTaken(Conflict):
    code = "organization_taken"
    message = "An organization with this slug already exists."


class UnknownOrganization(Invalid):
    code = "unknown_organization"
    message = "There is no organization {slug}."


class CaseworkerNeedsOrganization(DomainError):
    code = "caseworker_needs_organization"
    status = 422
    message = "A caseworker account must belong to an organization."


def is_organization_slug(slug: str) -> bool:
    return _ORG_SLUG.fullmatch(slug) is not None


def clean_organization(slug: str, name: str) -> tuple[str, str]:
    """A valid (slug, name) of an organization, or ``InvalidOrganization``."""
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not _ORG_SLUG.match(slug) or not 0 < len(cleaned) <= MAX_ORG_NAME_LENGTH:
        raise InvalidOrganization()
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidOrganization()
    return slug, cleaned


# Assisted registration --------------------------------------------------------------------


class Consent(enum.StrEnum):
    """How a person agreed to be registered by a caseworker."""

    SPOKEN = "spoken"
    SIGNED = "signed"


# No 0/O, 1/I/L: a claim code is read aloud, written on paper and typed on a cheap phone.
CLAIM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CLAIM_GROUPS, CLAIM_GROUP_LENGTH = 3, 4


class ConsentRequired(Invalid):
    code = "consent_required"
    message = (
        "Nothing was created: the person must agree to be registered by you, "
        "spoken or signed, and you must record it."
    )


class NotYourAssistedAccount(Forbidden):
    code = "not_your_assisted_account"
    message = "This person's account is assigned to another caseworker."


class AccountClaimed(Conflict):
    code = "account_claimed"
    message = "The person has taken over this account: it can no longer be used on their behalf."


class BadClaimCode(NotAuthenticated):
    code = "bad_claim_code"
    message = "This claim code is not correct or has already been used."


class NotACaseworker(Invalid):
    code = "not_a_caseworker"
    message = "Cases can only be assigned to a caseworker account."


def format_claim_code(raw: str) -> str:
    """XXXX-XXXX-XXXX in the claim alphabet."""
    size = CLAIM_GROUP_LENGTH
    return "-".join(raw[i : i + size] for i in range(0, len(raw), size))


def normalize_claim_code(typed: str) -> str | None:
    """The code as typed (any case, spaces or hyphens, O for 0...) in canonical form, or None."""
    letters = "".join(ch for ch in unicodedata.normalize("NFKC", typed).upper() if ch.isalnum())
    if len(letters) != CLAIM_GROUPS * CLAIM_GROUP_LENGTH:
        return None
    if any(ch not in CLAIM_ALPHABET for ch in letters):
        return None
    return format_claim_code(letters)
