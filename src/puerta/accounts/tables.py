"""Accounts, login tokens and family groups."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puerta.datakeys import SealedDate, SealedText
from puerta.db import Base, UTCDateTime

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(instant: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


class Organization(Base):
    """A shelter, legal-aid or humanitarian organization whose caseworkers use puerta."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="registrant")
    port: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # A caseworker's organization.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), default=None, index=True
    )
    # An assisted account (made by a caseworker for a person who cannot use the app): the
    # caseworker it is assigned to, until the person claims it with the claim code.
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None, index=True
    )
    claim_code_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    # How the person consented to being registered by a caseworker: spoken | signed.
    consent_how: Mapped[str | None] = mapped_column(String(16), default=None)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    group: Mapped[Group | None] = relationship(back_populates="account", uselist=False)


class AuthToken(Base):
    """Only the SHA-256 of a bearer token is stored, so a database leak yields no sessions."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # A delegated token: the caseworker who acts for the account with it (else None).
    acting_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), default=None, index=True
    )


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    # Registration instant in microseconds since the epoch (UTC): the draw orders and weighs
    # a million groups by it with integer arithmetic, on SQLite and PostgreSQL alike.
    registered_us: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Members, kept with the members so the draw need not count a million groups' rows.
    size: Mapped[int] = mapped_column(Integer, default=0)
    # An approved vulnerability exception puts the group in the draw's reserve share.
    vulnerability_approved: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship(back_populates="group")

    @property
    def registered_at(self) -> dt.datetime:
        return EPOCH + dt.timedelta(microseconds=self.registered_us)

    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group",
        order_by="GroupMember.position",
        cascade="all, delete-orphan",
    )


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # Names, birth date and document number are sealed at rest (puerta.datakeys): SQL can
    # neither compare nor order them, so readers select them and compare in Python.
    given_names: Mapped[str] = mapped_column(SealedText("group_members.given_names"))
    family_names: Mapped[str] = mapped_column(SealedText("group_members.family_names"))
    birth_date: Mapped[dt.date] = mapped_column(SealedDate("group_members.birth_date"))
    nationality: Mapped[str] = mapped_column(String(3))
    languages: Mapped[str] = mapped_column(String(200), default="")
    id_document: Mapped[str | None] = mapped_column(
        SealedText("group_members.id_document"), default=None
    )

    group: Mapped[Group] = relationship(back_populates="members")
