"""Demo data for ``make run``: staff accounts, families and their requests.

Safe to run again at any time: accounts and groups are created once and never changed
afterwards (a group holding an offer cannot change), and each family requests at most once a
window, only while one is open; anything it cannot do is reported on a line, never an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from puerta.accounts.domain import Member, OrganizationTaken, Role, UsernameTaken
from puerta.accounts.service import (
    GroupNotFound,
    create_account,
    create_organization,
    get_account,
    get_group,
    set_group,
)
from puerta.appointments.domain import AlreadyRequested, WindowClosed
from puerta.appointments.rules import AlreadyScheduled
from puerta.appointments.service import make_request
from puerta.config import get_settings
from puerta.errors import DomainError
from puerta.i18n import available_languages
from puerta.migrate import require_schema
from puerta.runtime import Runtime, cli_runtime

DEMO_PASSWORD = "puerta-demo-2024"
# The demo caseworker's organization (sample data, like everything here).
DEMO_ORGANIZATION = ("demo-shelters", "Red de albergues de muestra (sample data)")
_NAMESPACE = uuid.UUID("6f0c1d52-8a55-4d1a-9a57-3c1b0f1e2a10")


class DemoRefused(DomainError):
    code = "demo_in_production"
    status = 409
    message = "Demo data is never loaded when PUERTA_ENV=production."


@dataclass(frozen=True)
class DemoFamily:
    username: str
    language: str
    ports: tuple[str, ...]
    lat: float
    lon: float
    members: tuple[Member, ...]


STAFF: tuple[tuple[str, Role, str | None], ...] = (
    ("admin@puerta.example", Role.ADMIN, None),
    ("caseworker@puerta.example", Role.CASEWORKER, None),
    ("officer.sanysidro@puerta.example", Role.OFFICER, "san-ysidro"),
    ("officer.elpaso@puerta.example", Role.OFFICER, "el-paso"),
)

FAMILIES: tuple[DemoFamily, ...] = (
    DemoFamily(
        "+5215500000001",
        "ht",
        ("san-ysidro", "calexico"),
        32.52,
        -117.03,
        (
            Member("Marie", "Joseph", dt.date(1990, 3, 14), "HTI", ("ht", "fr")),
            Member("Jean", "Joseph", dt.date(2016, 7, 2), "HTI", ("ht",)),
        ),
    ),
    DemoFamily(
        "+5216560000002",
        "es",
        ("el-paso",),
        31.69,
        -106.42,
        (Member("Ana", "Pérez López", dt.date(1985, 11, 5), "VEN", ("es",)),),
    ),
    DemoFamily(
        "familia.ramirez@example.org",
        "es",
        ("brownsville", "hidalgo", "laredo"),
        25.87,
        -97.50,
        (
            Member("Luis", "Ramírez", dt.date(1979, 1, 20), "HND", ("es",)),
            Member("Rosa", "Ramírez", dt.date(1982, 6, 9), "HND", ("es",)),
            Member("Sofía", "Ramírez", dt.date(2012, 9, 30), "HND", ("es",)),
        ),
    ),
)


def _ensure_organization(rt: Runtime) -> str:
    slug, name = DEMO_ORGANIZATION
    try:
        create_organization(uow=rt.uow(), clock=rt.clock, slug=slug, name=name)
    except OrganizationTaken:
        pass
    return slug


def _ensure_account(rt: Runtime, username: str, role: Role, port: str | None, lang: str) -> int:
    try:
        return create_account(
            uow=rt.uow(),
            clock=rt.clock,
            hasher=rt.hasher,
            username=username,
            password=DEMO_PASSWORD,
            language=lang,
            languages=available_languages(),
            role=role,
            port=port,
            organization=_ensure_organization(rt) if role is Role.CASEWORKER else None,
        ).id
    except UsernameTaken:
        return get_account(uow=rt.uow(), username=username).id


def _ensure_group(rt: Runtime, account_id: int, family: DemoFamily) -> None:
    try:
        get_group(uow=rt.uow(), account_id=account_id)
    except GroupNotFound:
        set_group(
            uow=rt.uow(),
            clock=rt.clock,
            account_id=account_id,
            members=list(family.members),
            lock=rt.group_lock,
        )


def _closed(rt: Runtime, now: dt.datetime) -> str:
    opens = rt.schedule.next_opening(now).astimezone(rt.schedule.tz)
    return f"  no request: requests are closed until {opens:%Y-%m-%d %H:%M} {rt.schedule.timezone}"


def _request(rt: Runtime, account_id: int, family: DemoFamily) -> str:
    now = rt.clock.now()
    window = rt.schedule.open_window(now)
    if window is None:
        return _closed(rt, now)
    # One key per family and window: running the demo again replays the same request.
    key = str(uuid.uuid5(_NAMESPACE, f"{family.username}:{window}"))
    try:
        view = make_request(
            uow=rt.uow(),
            clock=rt.clock,
            schedule=rt.schedule,
            account_id=account_id,
            ports=list(family.ports),
            lat=family.lat,
            lon=family.lon,
            idempotency_key=key,
            standing=rt.settings.standing_requests,
            rng=rt.rng,
        )
    except WindowClosed:  # it closed a moment ago
        return _closed(rt, rt.clock.now())
    except AlreadyRequested:
        return "  no new request: it already has one waiting for a draw"
    except AlreadyScheduled:
        return "  no new request: it already has an offer or an appointment"
    return f"  request in window {view.window} for {', '.join(view.ports)}"


def load_demo(rt: Runtime | None = None) -> Iterator[str]:
    """Create the demo accounts, groups and requests, yielding one line per thing done."""
    if get_settings().env == "production":
        raise DemoRefused()
    rt = rt or cli_runtime()
    require_schema(rt.engine)
    for username, role, port in STAFF:
        _ensure_account(rt, username, role, port, "es")
        yield f"{role.value:<10} {username} / {DEMO_PASSWORD}"
    for family in FAMILIES:
        account_id = _ensure_account(rt, family.username, Role.REGISTRANT, None, family.language)
        _ensure_group(rt, account_id, family)
        people = "person" if len(family.members) == 1 else "people"
        yield f"registrant {family.username} / {DEMO_PASSWORD} ({len(family.members)} {people})"
        yield _request(rt, account_id, family)
    # Sample shelters in border cities and Tapachula, each labelled as sample data.
    from puerta.shelters.demo import load_demo_shelters

    yield from load_demo_shelters(uow=rt.uow(), clock=rt.clock)
