"""shelters and their occupancy history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import puerta.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shelters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("services", sa.String(length=200), nullable=False),
        sa.Column("populations", sa.String(length=200), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("open_door", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("confidential_location", sa.Boolean(), nullable=False),
        sa.Column("created_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("occupied", sa.Integer(), nullable=True),
        sa.Column("occupancy_updated_at", puerta.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_shelters_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelters")),
        sa.UniqueConstraint("slug", name=op.f("uq_shelters_slug")),
    )
    with op.batch_alter_table("shelters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shelters_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shelters_state"), ["state"], unique=False)

    op.create_table(
        "shelter_occupancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shelter_id", sa.Integer(), nullable=False),
        sa.Column("occupied", sa.Integer(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("updated_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shelter_id"],
            ["shelters.id"],
            name=op.f("fk_shelter_occupancy_shelter_id_shelters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["accounts.id"],
            name=op.f("fk_shelter_occupancy_updated_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelter_occupancy")),
    )
    with op.batch_alter_table("shelter_occupancy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shelter_occupancy_shelter_id"), ["shelter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shelter_occupancy_updated_at"), ["updated_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shelter_occupancy_updated_by"), ["updated_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shelter_occupancy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shelter_occupancy_updated_by"))
        batch_op.drop_index(batch_op.f("ix_shelter_occupancy_updated_at"))
        batch_op.drop_index(batch_op.f("ix_shelter_occupancy_shelter_id"))

    op.drop_table("shelter_occupancy")
    with op.batch_alter_table("shelters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shelters_state"))
        batch_op.drop_index(batch_op.f("ix_shelters_organization_id"))

    op.drop_table("shelters")
