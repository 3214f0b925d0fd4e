"""A person's right to their data: everything puerta holds about them, and its erasure."""

from __future__ import annotations

from fastapi import APIRouter, Response

from puerta.accounts import rights
from puerta.accounts.rights import DataExport, Erasure
from puerta.accounts.schemas import ErasureBody
from puerta.web.deps import Registrant, RuntimeDep

router = APIRouter(tags=["accounts"])
EXPORT_FILE = 'attachment; filename="puerta-export.json"'


@router.get("/me/export", response_model=DataExport)
def export_data(account: Registrant, runtime: RuntimeDep, response: Response) -> DataExport:
    """Everything puerta holds about the account and its group, as one JSON document
    (format ``puerta-export/1``); what it leaves out, and why, is in ``not_included``."""
    response.headers["Content-Disposition"] = EXPORT_FILE
    return rights.export_data(
        uow=runtime.uow(), clock=runtime.clock, account=account, holders=runtime.holders
    )


@router.delete("/me", response_model=Erasure)
def erase_account(body: ErasureBody, account: Registrant, runtime: RuntimeDep) -> Erasure:
    """Erase the account and its group: a live appointment is cancelled first, its seats
    released; only pseudonymous records stay, and the token ends. The account's password
    confirms it; with a delegated token, the caseworker's own password and the person's
    ``consent`` (spoken or signed)."""
    return rights.erase_account(
        uow=runtime.uow(),
        clock=runtime.clock,
        hasher=runtime.hasher,
        account=account,
        password=body.password,
        consent=body.consent,
        holders=runtime.holders,
    )
