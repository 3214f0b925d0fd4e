"""a person's right to their data: export and erasure

The export reads the audit events about a person's records by their subject; an erasure
needs no column of its own (puerta.accounts.rights keeps the rows the draws read, emptied).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An index alone: no table is rebuilt, on SQLite either.
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
