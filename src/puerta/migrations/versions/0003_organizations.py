"""organizations, caseworker assignment, assisted accounts and delegated tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import puerta.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    # Batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assigned_to", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claim_code_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("consent_how", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("consent_at", puerta.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_foreign_key(
            op.f("fk_accounts_organization_id_organizations"),
            "organizations", ["organization_id"], ["id"], ondelete="RESTRICT",
        )  # fmt: skip
        batch.create_foreign_key(
            op.f("fk_accounts_assigned_to_accounts"),
            "accounts", ["assigned_to"], ["id"], ondelete="SET NULL",
        )  # fmt: skip
        batch.create_index(op.f("ix_accounts_organization_id"), ["organization_id"])
        batch.create_index(op.f("ix_accounts_assigned_to"), ["assigned_to"])
        batch.create_unique_constraint(op.f("uq_accounts_claim_code_hash"), ["claim_code_hash"])
    with op.batch_alter_table("auth_tokens") as batch:
        batch.add_column(sa.Column("acting_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_auth_tokens_acting_id_accounts"),
            "accounts", ["acting_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip
        batch.create_index(op.f("ix_auth_tokens_acting_id"), ["acting_id"])


def downgrade() -> None:
    with op.batch_alter_table("auth_tokens") as batch:
        batch.drop_index(op.f("ix_auth_tokens_acting_id"))
        batch.drop_constraint(op.f("fk_auth_tokens_acting_id_accounts"), type_="foreignkey")
        batch.drop_column("acting_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("uq_accounts_claim_code_hash"), type_="unique")
        batch.drop_index(op.f("ix_accounts_assigned_to"))
        batch.drop_index(op.f("ix_accounts_organization_id"))
        batch.drop_constraint(op.f("fk_accounts_assigned_to_accounts"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_accounts_organization_id_organizations"), type_="foreignkey")
        for column in ("consent_at", "consent_how", "claim_code_hash", "assigned_to"):
            batch.drop_column(column)
        batch.drop_column("organization_id")
    op.drop_table("organizations")
