"""Tables of proofs: each proof subject's status-list index.

No proof is stored (a proof is signed afresh on each request); only the random index its
proofs carry, what it stands for, and until when a proof with it may be in someone's hands.
The foreign keys are SET NULL, never CASCADE: when an account or appointment goes, its row
stays and reads as revoked until every proof with its index has expired.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class ProofIndex(Base):
    __tablename__ = "proof_indexes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Drawn at random from the unused ones (puerta.proofs.domain.index_range).
    status_index: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), default=None, index=True
    )
    # A registration proof's group as it was when issued (its updated_at): a later change
    # of the family revokes the proofs that list the old members.
    group_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The latest expiry of a proof issued with this index; after it the index is freed.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
