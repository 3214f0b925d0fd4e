"""What the immigration documents hold of a person, for their export and their erasure
(puerta.accounts.rights): every document of every member, deleted by the erasure (the
public statistics are counted afresh from the documents that remain)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from puerta.accounts.rights import Held, capped, columns
from puerta.documents.tables import ImmigrationDocument


class DocumentsHeld:
    """The documents context's part of a person's data (accounts.rights.Holder)."""

    def export(self, session: Session, account_id: int, group_id: int | None) -> Held:
        if group_id is None:
            return Held(sections={"documents": []})
        rows, more = capped(
            session,
            select(ImmigrationDocument)
            .where(ImmigrationDocument.group_id == group_id)
            .order_by(ImmigrationDocument.id),
        )
        return Held(
            sections={"documents": [columns(r) for r in rows]},
            subjects=[f"document:{r.id}" for r in rows],
            truncated=["documents"] if more else [],
        )

    def erase(
        self, session: Session, account_id: int, group_id: int | None, now: dt.datetime
    ) -> dict[str, int]:
        if group_id is None:
            return {"documents": 0}
        gone = session.execute(
            delete(ImmigrationDocument).where(ImmigrationDocument.group_id == group_id)
        )
        return {"documents": cast(CursorResult[Any], gone).rowcount}
