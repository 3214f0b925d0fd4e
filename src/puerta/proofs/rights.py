"""What proofs hold of a person, for their export and their erasure
(puerta.accounts.rights): no proof (each is signed anew and never stored), only the status
indexes the proofs carry. An erasure unlinks them from the account, which revokes every proof
still in someone's hands (domain.is_revoked); the index itself is freed once they expire."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from puerta.accounts.rights import Held, capped, columns
from puerta.proofs.tables import ProofIndex


class ProofsHeld:
    """The proofs context's part of a person's data (accounts.rights.Holder)."""

    def export(self, session: Session, account_id: int, group_id: int | None) -> Held:
        rows, more = capped(
            session,
            select(ProofIndex).where(ProofIndex.account_id == account_id).order_by(ProofIndex.id),
        )
        return Held(
            sections={"proofs": [columns(r) for r in rows]},
            truncated=["proofs"] if more else [],
        )

    def erase(
        self, session: Session, account_id: int, group_id: int | None, now: dt.datetime
    ) -> dict[str, int]:
        unlinked = session.execute(
            update(ProofIndex)
            .where(ProofIndex.account_id == account_id)
            .values(account_id=None, appointment_id=None, group_updated_at=None)
            .execution_options(synchronize_session=False)
        )
        return {"proofs_revoked": cast(CursorResult[Any], unlinked).rowcount}
