"""proof status-list indexes and revocations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import puerta.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proof_indexes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("group_updated_at", puerta.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_proof_indexes_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_proof_indexes_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_indexes")),
        sa.UniqueConstraint("status_index", name=op.f("uq_proof_indexes_status_index")),
    )
    with op.batch_alter_table("proof_indexes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proof_indexes_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_proof_indexes_appointment_id"), ["appointment_id"])
        batch_op.create_index(batch_op.f("ix_proof_indexes_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("proof_indexes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proof_indexes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_proof_indexes_appointment_id"))
        batch_op.drop_index(batch_op.f("ix_proof_indexes_account_id"))
    op.drop_table("proof_indexes")
