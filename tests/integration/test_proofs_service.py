"""Proofs through the services, on SQLite and PostgreSQL: issue, publish the status list,
revoke by the state of what a proof attests, rotate keys, verify as `puerta proof verify`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from puerta.accounts.domain import Member
from puerta.accounts.service import GroupNotFound, create_account, set_group
from puerta.accounts.tables import Account
from puerta.appointments import booking
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.i18n import available_languages
from puerta.proofs import domain, keys, published, service
from puerta.proofs.domain import NoConfirmedAppointment, Outcome, ProofKind
from puerta.proofs.keys import KeyRing
from puerta.proofs.service import ProofPolicy
from puerta.proofs.tables import ProofIndex
from puerta.runtime import Runtime
from tests.factories import PASSWORD, phone
from tests.integration.helpers import AFTER_CLOSE, confirm, draw, requesting_family

POLICY = ProofPolicy(registration_days=30, appointment_grace_days=1)


@pytest.fixture
def ring(tmp_path: Path, runtime: Runtime) -> KeyRing:
    path = tmp_path / "proof-keys.json"
    keys.init_keys(path, now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    return keys.load_ring(Settings(env="test", proof_keys_file=path), runtime.clock)


def proofs(rt: Runtime, ring: KeyRing, account: int) -> service.ProofsView:
    return service.issue_proofs(
        uow=rt.uow(), clock=rt.clock, keys=ring, account_id=account, policy=POLICY
    )


def check(rt: Runtime, ring: KeyRing, token: str, at: dt.datetime | None = None) -> Outcome:
    """The verdict as an offline verifier gives it, from the published documents only."""
    jwks = json.loads(json.dumps(ring.jwks()))
    document = json.loads(
        json.dumps(service.status_document(uow=rt.uow(), clock=rt.clock, keys=ring))
    )
    found = published.keys_from_jwks(jwks)
    return published.check(token, keys=found, status=document, now=at or rt.clock.now()).outcome


@pytest.fixture
def scheduled(runtime: Runtime, clock: FixedClock) -> int:
    """A family of two with a confirmed appointment at San Ysidro on 16 Sep 2024."""
    account = requesting_family(runtime, ["san-ysidro"], size=2)
    clock.set(AFTER_CLOSE)
    draw(runtime)
    confirm(runtime, account)
    return account


class TestIssueProofs:
    def test_a_registration_proof_carries_initials_and_birth_years_only(
        self, runtime: Runtime, ring: KeyRing
    ) -> None:
        account = requesting_family(runtime, ["el-paso"], size=2)
        view = proofs(runtime, ring, account)
        assert view.appointment is None
        assert view.registration.expires_at == runtime.clock.now().replace(
            microsecond=0
        ) + dt.timedelta(days=30)
        verdict = published.check(
            view.registration.token, keys=ring.public(), status=None, now=runtime.clock.now()
        )
        assert verdict.valid and verdict.claims is not None
        assert [(m.initials, m.birth_year) for m in verdict.claims.members] == [
            ("PF", 1990), ("PF", 1990)
        ]  # fmt: skip
        assert check(runtime, ring, view.registration.token) is Outcome.VALID

    def test_needs_a_family_group(self, runtime: Runtime, ring: KeyRing) -> None:
        account = create_account(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, username=phone(),
            password=PASSWORD, language="es", languages=available_languages(),
        )  # fmt: skip
        with pytest.raises(GroupNotFound):
            proofs(runtime, ring, account.id)
        with runtime.uow() as uow:
            assert uow.session.scalar(select(ProofIndex.id)) is None

    def test_an_appointment_proof_only_for_a_confirmed_appointment(
        self, runtime: Runtime, ring: KeyRing, clock: FixedClock
    ) -> None:
        account = requesting_family(runtime, ["san-ysidro"], size=1)
        clock.set(AFTER_CLOSE)
        draw(runtime)  # offered, not confirmed
        assert proofs(runtime, ring, account).appointment is None
        with pytest.raises(NoConfirmedAppointment):
            service.issue_proof(
                uow=runtime.uow(), clock=runtime.clock, keys=ring, account_id=account,
                kind=ProofKind.APPOINTMENT, policy=POLICY,
            )  # fmt: skip

    def test_an_appointment_proof_lasts_until_the_day_after_the_service_date(
        self, runtime: Runtime, ring: KeyRing, scheduled: int
    ) -> None:
        view = proofs(runtime, ring, scheduled)
        assert view.appointment is not None
        # Midnight starting 18 Sep in Tijuana.
        assert view.appointment.expires_at == dt.datetime(2024, 9, 18, 7, tzinfo=dt.UTC)
        claims = published.check(
            view.appointment.token, keys=ring.public(), status=None, now=runtime.clock.now()
        ).claims
        assert claims is not None
        assert (claims.port, claims.service_date, claims.persons) == (
            "san-ysidro", dt.date(2024, 9, 16), 2
        )  # fmt: skip
        at = dt.datetime(2024, 9, 18, 7, tzinfo=dt.UTC)
        assert check(runtime, ring, view.appointment.token, at) is Outcome.EXPIRED

    def test_the_status_index_is_reused_while_its_proofs_live(
        self, runtime: Runtime, ring: KeyRing, clock: FixedClock
    ) -> None:
        account = requesting_family(runtime, ["el-paso"])
        first = self._index(runtime, ring, account)
        clock.advance(dt.timedelta(days=3))
        assert self._index(runtime, ring, account) == first
        clock.advance(dt.timedelta(days=31))  # every proof with it has expired
        proofs(runtime, ring, account)
        with runtime.uow() as uow:
            assert len(uow.session.scalars(select(ProofIndex)).all()) == 1

    def test_indexes_are_drawn_again_on_a_collision(self, runtime: Runtime, ring: KeyRing) -> None:
        drawn = iter([7, 7, 7, 9])
        accounts = [requesting_family(runtime, ["el-paso"], key=f"k{i}") for i in range(2)]
        indexes = [
            service.issue_proof(
                uow=runtime.uow(), clock=runtime.clock, keys=ring, account_id=a,
                kind=ProofKind.REGISTRATION, policy=POLICY, randbelow=lambda _: next(drawn),
            ).claims.status_index
            for a in accounts
        ]  # fmt: skip
        assert indexes == [7, 9]

    def _index(self, rt: Runtime, ring: KeyRing, account: int) -> int:
        issued = service.issue_proof(
            uow=rt.uow(), clock=rt.clock, keys=ring, account_id=account,
            kind=ProofKind.REGISTRATION, policy=POLICY,
        )  # fmt: skip
        return issued.claims.status_index


class TestRevocation:
    def test_a_cancelled_appointment_is_revoked_in_the_published_list(
        self, runtime: Runtime, ring: KeyRing, scheduled: int
    ) -> None:
        token = proofs(runtime, ring, scheduled).appointment
        assert token is not None
        assert check(runtime, ring, token.token) is Outcome.VALID
        booking.cancel_by_person(uow=runtime.uow(), clock=runtime.clock, account_id=scheduled)
        assert check(runtime, ring, token.token) is Outcome.REVOKED
        assert proofs(runtime, ring, scheduled).appointment is None

    def test_an_appointment_cancelled_by_an_admin_is_revoked(
        self, runtime: Runtime, ring: KeyRing, scheduled: int
    ) -> None:
        token = proofs(runtime, ring, scheduled).appointment
        assert token is not None
        appointment = booking.my_appointment(
            uow=runtime.uow(), clock=runtime.clock, account_id=scheduled
        )
        booking.cancel_by_admin(
            uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
            reason="port closed", actor_id=None,  # type: ignore[arg-type]
        )  # fmt: skip
        assert check(runtime, ring, token.token) is Outcome.REVOKED

    def test_a_changed_family_revokes_the_registration_proof_listing_the_old_one(
        self, runtime: Runtime, ring: KeyRing, clock: FixedClock
    ) -> None:
        account = requesting_family(runtime, ["el-paso"])
        old = proofs(runtime, ring, account).registration.token
        clock.advance(dt.timedelta(minutes=1))
        set_group(
            uow=runtime.uow(), clock=runtime.clock, account_id=account,
            members=[Member("Zoe", "Diaz", dt.date(2001, 5, 5), "HND", ("es",))],
            lock=lambda session, group: None,
        )  # fmt: skip
        new = proofs(runtime, ring, account).registration.token
        assert check(runtime, ring, old) is Outcome.REVOKED
        assert check(runtime, ring, new) is Outcome.VALID

    def test_a_deleted_account_revokes_its_proofs(self, runtime: Runtime, ring: KeyRing) -> None:
        account = requesting_family(runtime, ["el-paso"])
        token = proofs(runtime, ring, account).registration.token
        with runtime.uow() as uow:
            uow.session.execute(delete(Account).where(Account.id == account))
            uow.commit()
        assert check(runtime, ring, token) is Outcome.REVOKED

    def test_the_list_has_at_least_131072_entries_and_is_signed(
        self, runtime: Runtime, ring: KeyRing
    ) -> None:
        document = service.status_document(uow=runtime.uow(), clock=runtime.clock, keys=ring)
        bits, valid_from = published.revoked_bits(document, ring.public())
        assert len(bits) * 8 >= 131_072 and not any(bits)
        assert valid_from == "2024-09-02T18:00:00Z"


class TestRotation:
    def test_proofs_of_the_old_key_stay_valid_until_they_expire(
        self, runtime: Runtime, tmp_path: Path, clock: FixedClock
    ) -> None:
        path = tmp_path / "keys.json"
        settings = Settings(env="test", proof_keys_file=path)
        keys.init_keys(path, now=clock.now() - dt.timedelta(days=1))
        old_ring = keys.load_ring(settings, clock)
        account = requesting_family(runtime, ["el-paso"])
        old = proofs(runtime, old_ring, account).registration.token
        clock.advance(dt.timedelta(hours=1))
        keys.rotate_keys(path, now=clock.now())
        new_ring = keys.load_ring(settings, clock)
        assert new_ring.signer.kid != old_ring.signer.kid and len(new_ring.keys) == 2
        assert new_ring.keys[0].period.signs_until == clock.now().replace(microsecond=0)
        new = proofs(runtime, new_ring, account).registration.token
        assert check(runtime, new_ring, old) is Outcome.VALID
        assert check(runtime, new_ring, new) is Outcome.VALID
        assert check(runtime, new_ring, old, clock.now() + dt.timedelta(days=30)) is (
            Outcome.EXPIRED
        )

    def test_a_proof_dated_after_its_key_stopped_signing_is_forged(
        self, runtime: Runtime, tmp_path: Path, clock: FixedClock
    ) -> None:
        path = tmp_path / "keys.json"
        settings = Settings(env="test", proof_keys_file=path)
        keys.init_keys(path, now=clock.now() - dt.timedelta(days=1))
        old_ring = keys.load_ring(settings, clock)
        keys.rotate_keys(path, now=clock.now() - dt.timedelta(hours=1))
        account = requesting_family(runtime, ["el-paso"])
        # Signed with the retired key "now", as a thief of that key would.
        stolen = proofs(runtime, old_ring, account).registration.token
        assert check(runtime, keys.load_ring(settings, clock), stolen) is Outcome.FORGED


class TestVerifyToken:
    def test_uses_this_servers_keys_and_list_by_default(
        self, runtime: Runtime, ring: KeyRing, scheduled: int
    ) -> None:
        token = proofs(runtime, ring, scheduled).registration.token
        verdict = service.verify_token(
            uow=runtime.uow(), clock=runtime.clock, token=token, ring=lambda: ring
        )
        assert verdict.valid
        facts = published.verdict_json(verdict)["facts"]
        assert facts["kind"] == "registration" and facts["persons"] == 2

    def test_refuses_a_status_document_not_signed_by_the_keys(
        self, runtime: Runtime, ring: KeyRing, tmp_path: Path
    ) -> None:
        other = keys.load_ring(
            Settings(env="test", proof_keys_file=tmp_path / "none"), runtime.clock
        )
        document = service.status_document(uow=runtime.uow(), clock=runtime.clock, keys=other)
        with pytest.raises(domain.BadStatusDocument):
            service.verify_token(
                uow=runtime.uow(), clock=runtime.clock, token="PU1:", ring=lambda: ring,
                status_text=json.dumps(document),
            )  # fmt: skip
