"""The pure rules of proofs: claims, expiry, the status list's bits and what revokes a proof."""

from __future__ import annotations

import base64
import datetime as dt
import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.proofs import domain
from puerta.proofs.domain import Claims, KeyPeriod, MemberClaim, Outcome, ProofKind, Subject

T0 = dt.datetime(2024, 9, 3, 17, 30, tzinfo=dt.UTC)


def claims(**overrides: object) -> Claims:
    values: dict[str, object] = {
        "kind": ProofKind.APPOINTMENT, "issued_at": domain.seconds(T0),
        "expires_at": domain.seconds(T0) + 86400, "persons": 2,
        "members": (MemberClaim("MJ", 1990), MemberClaim("JJ", 2016)), "status_index": 5,
        "port": "san-ysidro", "service_date": dt.date(2024, 9, 16),
        "slot_starts_at": domain.seconds(T0),
    }  # fmt: skip
    return Claims(**(values | overrides))  # type: ignore[arg-type]


class TestInitials:
    @pytest.mark.parametrize(
        ("given", "family", "expected"),
        [
            ("Marie", "Joseph", "MJ"),
            ("marie carmen", "joseph louis", "MJ"),
            ("Élodie", "Ñúñez", "EN"),
            ("Алексей", "Иванов", "АИ"),
            ("Ana", "", "A"),
        ],
    )
    def test_are_the_first_letters_of_the_first_given_and_family_name(
        self, given: str, family: str, expected: str
    ) -> None:
        assert domain.initials(given, family) == expected


class TestExpiry:
    def test_a_registration_proof_lasts_the_configured_days(self) -> None:
        assert domain.registration_expiry(T0, 30) == T0 + dt.timedelta(days=30)

    def test_an_appointment_proof_ends_with_the_day_after_the_service_date_at_the_port(
        self,
    ) -> None:
        end = domain.appointment_expiry(dt.date(2024, 9, 16), "America/Tijuana", 1)
        # Midnight starting 18 Sep in Tijuana (PDT, UTC-7).
        assert end == dt.datetime(2024, 9, 18, 7, 0, tzinfo=dt.UTC)
        assert domain.appointment_expiry(dt.date(2024, 9, 16), "America/Tijuana", 0) == (
            dt.datetime(2024, 9, 17, 7, 0, tzinfo=dt.UTC)
        )


class TestClaimsMap:
    def test_uses_the_documented_labels(self) -> None:
        mapped = domain.to_map(claims())
        assert set(mapped) == {1, 4, 6, -65537}
        assert mapped[1] == "puerta"
        assert mapped[-65537] == {
            1: "appointment", 2: "san-ysidro", 3: "2024-09-16", 4: domain.seconds(T0), 5: 2,
            6: [["MJ", 1990], ["JJ", 2016]], 7: 5,
        }  # fmt: skip

    def test_a_registration_has_no_port_date_or_slot(self) -> None:
        mapped = domain.to_map(claims(kind=ProofKind.REGISTRATION, port=None, service_date=None,
                                      slot_starts_at=None))  # fmt: skip
        assert set(mapped[-65537]) == {1, 5, 6, 7}

    @given(
        kind=st.sampled_from(ProofKind),
        issued=st.integers(0, 2**33),
        members=st.lists(
            st.tuples(st.text(min_size=0, max_size=3), st.integers(1900, 2100)), max_size=12
        ),
        index=st.integers(0, 2**20),
    )
    def test_any_claims_survive_the_map_and_back(
        self, kind: ProofKind, issued: int, members: list[tuple[str, int]], index: int
    ) -> None:
        appointment = kind is ProofKind.APPOINTMENT
        original = claims(
            kind=kind, issued_at=issued, expires_at=issued + 1, persons=len(members),
            members=tuple(MemberClaim(i, y) for i, y in members), status_index=index,
            port="el-paso" if appointment else None,
            service_date=dt.date(2024, 1, 2) if appointment else None,
            slot_starts_at=issued if appointment else None,
        )  # fmt: skip
        assert domain.from_map(domain.to_map(original)) == original

    @pytest.mark.parametrize(
        "change",
        [
            lambda m: m.update({1: "other"}),
            lambda m: m.pop(4),
            lambda m: m.update({99: 1}),
            lambda m: m[-65537].update({8: "nationality"}),
            lambda m: m[-65537].update({1: "passport"}),
            lambda m: m[-65537].update({3: "16/09/2024"}),
            lambda m: m[-65537].update({6: [["MJ"]]}),
            lambda m: m[-65537].update({7: True}),
        ],
    )
    def test_anything_else_is_malformed(self, change: object) -> None:
        mapped = domain.to_map(claims())
        change(mapped)  # type: ignore[operator]
        with pytest.raises(domain.Malformed):
            domain.from_map(mapped)


class TestStatusList:
    def test_the_first_index_is_the_left_most_bit(self) -> None:
        bits = domain.bitstring([0, 9, 15], 16)
        assert bits == bytes([0b1000_0000, 0b0100_0001])

    def test_encoded_list_is_multibase_u_base64url_of_gzip(self) -> None:
        encoded = domain.encode_list([3, 131_071], 131_072)
        assert encoded.startswith("u") and "=" not in encoded
        raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
        assert len(raw) == 131_072 // 8
        assert raw[0] == 0b0001_0000 and raw[-1] == 0b0000_0001
        assert domain.decode_list(encoded) == raw

    @given(st.sets(st.integers(0, 131_071), max_size=50))
    def test_exactly_the_revoked_bits_are_set(self, revoked: set[int]) -> None:
        bits = domain.decode_list(domain.encode_list(revoked, 131_072))
        assert {i for i in range(131_072) if domain.is_set(bits, i)} == revoked

    def test_an_index_past_the_list_is_not_revoked(self) -> None:
        assert not domain.is_set(b"\xff", 8)
        assert not domain.is_set(b"\xff", -1)

    def test_size_is_at_least_131072_and_grows_with_use(self) -> None:
        assert domain.list_size(0, -1) == 131_072
        assert domain.list_size(40_000, 10) == 262_144
        assert domain.list_size(1, 131_072) == 262_144

    def test_small_indexes_are_drawn_while_half_of_them_are_free(self) -> None:
        assert domain.index_range(0, 131_072) == 65_536
        assert domain.index_range(32_768, 262_144) == 262_144


class TestJudge:
    period = KeyPeriod(T0 - dt.timedelta(days=1), None)

    def test_valid_before_expiry_with_its_bit_clear(self) -> None:
        verdict = domain.judge(claims(), kid="k", period=self.period, now=T0, revoked=bytes(1))
        assert verdict.outcome is Outcome.VALID and verdict.valid

    def test_expired_at_exp(self) -> None:
        now = domain.instant(claims().expires_at)
        verdict = domain.judge(claims(), kid="k", period=self.period, now=now, revoked=None)
        assert verdict.outcome is Outcome.EXPIRED

    def test_revoked_when_its_bit_is_set(self) -> None:
        bits = domain.bitstring([5], 8)
        verdict = domain.judge(claims(), kid="k", period=self.period, now=T0, revoked=bits)
        assert verdict.outcome is Outcome.REVOKED

    def test_forged_when_the_key_did_not_sign_at_its_issue_time(self) -> None:
        ended = KeyPeriod(T0 - dt.timedelta(days=2), T0)
        verdict = domain.judge(claims(), kid="k", period=ended, now=T0, revoked=None)
        assert verdict.outcome is Outcome.FORGED
        later = KeyPeriod(T0 + dt.timedelta(seconds=1), None)
        assert domain.judge(claims(), kid="k", period=later, now=T0, revoked=None).outcome is (
            Outcome.FORGED
        )


class TestRevocation:
    def test_a_registration_is_revoked_when_the_account_or_group_is_gone_or_changed(
        self,
    ) -> None:
        base = Subject(ProofKind.REGISTRATION, True, T0, T0)
        assert not domain.is_revoked(base)
        assert domain.is_revoked(Subject(ProofKind.REGISTRATION, False, T0, T0))
        assert domain.is_revoked(Subject(ProofKind.REGISTRATION, True, None, T0))
        assert domain.is_revoked(Subject(ProofKind.REGISTRATION, True, T0 + dt.timedelta(1), T0))

    @pytest.mark.parametrize(
        ("status", "revoked"),
        [("confirmed", False), ("checked_in", False), ("cancelled", True), ("expired", True),
         ("no_show", True), (None, True)],
    )  # fmt: skip
    def test_an_appointment_is_revoked_once_it_no_longer_stands(
        self, status: str | None, revoked: bool
    ) -> None:
        subject = Subject(ProofKind.APPOINTMENT, True, appointment_status=status)
        assert domain.is_revoked(subject) is revoked
