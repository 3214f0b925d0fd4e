"""immigration documents

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import puerta.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "immigration_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("office", sa.String(length=80), nullable=False),
        sa.Column("reminded_days", sa.Integer(), nullable=True),
        sa.Column("created_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_immigration_documents_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_immigration_documents")),
    )
    with op.batch_alter_table("immigration_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_immigration_documents_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            "ix_immigration_documents_status_expires_on", ["status", "expires_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("immigration_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_immigration_documents_status_expires_on")
        batch_op.drop_index(batch_op.f("ix_immigration_documents_group_id"))
    op.drop_table("immigration_documents")
