"""Immigration documents of the family's members, and their public statistics."""

from __future__ import annotations

from fastapi import APIRouter

from puerta.documents import service
from puerta.documents.schemas import DocumentCreate, DocumentUpdate
from puerta.documents.service import DocumentView
from puerta.documents.stats import DocumentStats
from puerta.web.deps import Registrant, RowId, RuntimeDep

router = APIRouter(tags=["documents"])


@router.post("/me/documents", status_code=201, response_model=DocumentView)
def record_document(body: DocumentCreate, account: Registrant, runtime: RuntimeDep) -> DocumentView:
    """Record an FMM, TVRH, COMAR constancia or CURP temporal of one member of the family."""
    return service.record_document(
        uow=runtime.uow(),
        clock=runtime.clock,
        account_id=account.id,
        member=body.member,
        kind=body.kind,
        status=body.status,
        requested_on=body.requested_on,
        decided_on=body.decided_on,
        expires_on=body.expires_on,
        office=body.office,
    )


@router.patch("/me/documents/{document_id}", response_model=DocumentView)
def update_document(
    document_id: RowId, body: DocumentUpdate, account: Registrant, runtime: RuntimeDep
) -> DocumentView:
    """Change a document's status, dates or office (another family's: 404)."""
    return service.update_document(
        uow=runtime.uow(),
        clock=runtime.clock,
        account_id=account.id,
        document_id=document_id,
        changes=body.to_changes(),
    )


@router.get("/me/documents", response_model=list[DocumentView])
def list_documents(account: Registrant, runtime: RuntimeDep) -> list[DocumentView]:
    """The family's documents, by member."""
    return service.list_documents(uow=runtime.uow(), account_id=account.id)


@router.get("/stats/documents", response_model=DocumentStats)
def document_statistics(runtime: RuntimeDep) -> DocumentStats:
    """Requests, issued and denied per kind, office and month; counts 1-9 read "<10"."""
    return service.document_statistics(uow=runtime.uow())
