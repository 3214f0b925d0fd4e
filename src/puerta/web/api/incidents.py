"""Incident reports: anonymous reporting and follow-up, the triage team's work, statistics.

The report routes take no account: a caller's token, if any, is ignored, and nothing of
the caller (account, address) is stored or logged. Triage calls need the ``incidents``
role and the ``X-Puerta-Unlock`` value that ``POST /incidents/unlock`` returned for the
same bearer token. The report routes are limited per client address (a keyed hash of it
is counted for a day at most, puerta.ratelimits; never the address).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from puerta.accounts.domain import Role
from puerta.accounts.service import AccountView
from puerta.geo.service import state_names
from puerta.incidents import keys, sealing, service, triage
from puerta.incidents.domain import Status
from puerta.incidents.schemas import (
    FollowUpBody,
    ReceiptBody,
    ReportCreate,
    StatusBody,
    TextBody,
    UnlockBody,
)
from puerta.incidents.service import NewReport, Receipt, ReporterView, Unlocked
from puerta.incidents.stats import IncidentStats
from puerta.incidents.triage import ReportSummary, ReportView
from puerta.ratelimits.limiter import Action
from puerta.runtime import Runtime
from puerta.web.deps import RowId, RuntimeDep, bearer_token, requires
from puerta.web.limits import RATE_LIMITED, limited, per_address
from puerta.web.problems import PROBLEM_JSON

router = APIRouter(tags=["incidents"])
Triage = Annotated[AccountView, Depends(requires(Role.INCIDENTS))]
UNLOCK_HEADER = "X-Puerta-Unlock"
# Without a team key file the server cannot seal a report, so it refuses to take one.
NOT_CONFIGURED: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Incident reporting is not set up (no team key file)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
REPORTER_LIMIT = [limited(Action.INCIDENTS, per_address)]


def unlocked_keys(
    request: Request,
    account: Triage,
    unlock: Annotated[str | None, Header(alias=UNLOCK_HEADER, max_length=4096)] = None,
) -> Mapping[str, bytes]:
    """The team's private keys this caller unlocked, opened with their live token."""
    return sealing.keys_of_session(bearer_token(request), unlock)


TeamKeys = Annotated[Mapping[str, bytes], Depends(unlocked_keys)]


def team(runtime: Runtime) -> service.TeamKey:
    return keys.team_key(runtime.settings.incidents_key_file)


@router.post(
    "/incidents", status_code=201, response_model=Receipt,
    responses=NOT_CONFIGURED | RATE_LIMITED, dependencies=REPORTER_LIMIT,
)  # fmt: skip
def report_incident(body: ReportCreate, runtime: RuntimeDep) -> Receipt:
    """Report what happened, anonymously; the receipt is the only way back to the report."""
    receipt = service.submit_report(
        uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(),
        team=team(runtime), states=state_names(),
        report=NewReport(
            incident_type=body.incident_type, perpetrator=body.perpetrator, state=body.state,
            municipality=body.municipality, month=body.month, day=body.day, text=body.text,
            contact=body.contact,
        ),
    )  # fmt: skip
    return Receipt(receipt=receipt)


@router.post(
    "/incidents/lookup", response_model=ReporterView, responses=RATE_LIMITED,
    dependencies=REPORTER_LIMIT,
)  # fmt: skip
def look_up(body: ReceiptBody, runtime: RuntimeDep) -> ReporterView:
    """The report's status and the caseworkers' messages; any other receipt: 404."""
    return service.look_up(uow=runtime.uow(), secret=runtime.keys.signing(), receipt=body.receipt)


@router.post(
    "/incidents/follow-up", status_code=201, response_model=ReporterView,
    responses=NOT_CONFIGURED | RATE_LIMITED, dependencies=REPORTER_LIMIT,
)  # fmt: skip
def follow_up(body: FollowUpBody, runtime: RuntimeDep) -> ReporterView:
    """Add information to a report, with its receipt."""
    return service.add_follow_up(
        uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(),
        team=team(runtime), receipt=body.receipt, text=body.text,
    )  # fmt: skip


@router.get("/stats/incidents", response_model=IncidentStats)
def incident_statistics(runtime: RuntimeDep) -> IncidentStats:
    """Reports by type, perpetrator, state and month; counts 1-9 read "<10"."""
    return service.incident_statistics(uow=runtime.uow(), states=state_names())


@router.post("/incidents/unlock", response_model=Unlocked, responses=NOT_CONFIGURED)
def unlock(body: UnlockBody, request: Request, account: Triage, runtime: RuntimeDep) -> Unlocked:
    """Open the team's keys with the passphrase, for this token only (nothing is stored)."""
    opened = keys.unlock(runtime.settings.incidents_key_file, body.passphrase)
    token = bearer_token(request) or ""
    triage.record_unlock(
        uow=runtime.uow(), clock=runtime.clock, actor_id=account.id, keys=len(opened)
    )
    return Unlocked(unlock=sealing.lock_for_session(token, opened), keys=len(opened))


@router.get("/incidents", response_model=list[ReportSummary])
def list_reports(
    account: Triage, unlocked: TeamKeys, runtime: RuntimeDep, status: Status | None = None
) -> list[ReportSummary]:
    """Reports, newest first, of one status or all (codes only)."""
    return triage.list_reports(uow=runtime.uow(), status=status)


@router.get("/incidents/export.huridocs.json")
def export_referred(account: Triage, unlocked: TeamKeys, runtime: RuntimeDep) -> dict[str, Any]:
    """Referred reports as HURIDOCS Events Standard Formats records (nothing sealed leaves)."""
    return triage.export_referred(
        uow=runtime.uow(), clock=runtime.clock, actor_id=account.id, states=state_names()
    )


@router.get("/incidents/{report_id}", response_model=ReportView)
def read_report(
    report_id: RowId, account: Triage, unlocked: TeamKeys, runtime: RuntimeDep
) -> ReportView:
    """A report unsealed, with its follow-ups, notes and messages."""
    return triage.read_report(
        uow=runtime.uow(), clock=runtime.clock, keys=unlocked, report_id=report_id,
        actor_id=account.id,
    )  # fmt: skip


@router.post("/incidents/{report_id}/notes", response_model=ReportView, responses=NOT_CONFIGURED)
def add_note(
    report_id: RowId, body: TextBody, account: Triage, unlocked: TeamKeys, runtime: RuntimeDep
) -> ReportView:
    """A note for the team (sealed to its key)."""
    return triage.add_note(
        uow=runtime.uow(), clock=runtime.clock, team=team(runtime), keys=unlocked,
        report_id=report_id, actor_id=account.id, text=body.text,
    )  # fmt: skip


@router.post("/incidents/{report_id}/messages", response_model=ReportView)
def send_message(
    report_id: RowId, body: TextBody, account: Triage, unlocked: TeamKeys, runtime: RuntimeDep
) -> ReportView:
    """A message the reporter reads with the receipt."""
    return triage.send_message(
        uow=runtime.uow(), clock=runtime.clock, keys=unlocked, report_id=report_id,
        actor_id=account.id, text=body.text,
    )  # fmt: skip


@router.post("/incidents/{report_id}/status", response_model=ReportView)
def change_status(
    report_id: RowId, body: StatusBody, account: Triage, unlocked: TeamKeys, runtime: RuntimeDep
) -> ReportView:
    """received → in_review → referred (with referred_to) → closed."""
    return triage.change_status(
        uow=runtime.uow(), clock=runtime.clock, keys=unlocked, report_id=report_id,
        actor_id=account.id, status=body.status, referred_to=body.referred_to,
    )  # fmt: skip
