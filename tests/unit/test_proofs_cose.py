"""The proof codec: COSE_Sign1 over a CWT, Ed25519, Base45; every way a token can fail."""

from __future__ import annotations

import datetime as dt
import hashlib

import base45
import cbor2
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from puerta.proofs import cose, domain, qr
from puerta.proofs.cose import PublicKey
from puerta.proofs.domain import Claims, KeyPeriod, MemberClaim, Outcome, ProofKind

SEED = bytes(range(32))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
T0 = dt.datetime(2024, 9, 3, 17, 30, tzinfo=dt.UTC)
PERIOD = KeyPeriod(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None)


def keys(*private: Ed25519PrivateKey) -> dict[bytes, PublicKey]:
    return {
        cose.kid_of(cose.raw_public(k.public_key())): PublicKey(k.public_key(), PERIOD)
        for k in private
    }


def appointment(members: int = 2, index: int = 77, port: str = "san-ysidro") -> Claims:
    return Claims(
        kind=ProofKind.APPOINTMENT, issued_at=domain.seconds(T0),
        expires_at=domain.seconds(T0 + dt.timedelta(days=15)), persons=members,
        members=tuple(MemberClaim("MJ", 1990 + i) for i in range(members)), status_index=index,
        port=port, service_date=dt.date(2024, 9, 16),
        slot_starts_at=domain.seconds(dt.datetime(2024, 9, 16, 14, tzinfo=dt.UTC)),
    )  # fmt: skip


def verify(token: str, now: dt.datetime = T0, revoked: bytes | None = None) -> domain.Verdict:
    return cose.verify(token, keys=keys(KEY), now=now, revoked=revoked)


class TestKeyId:
    def test_is_the_first_8_bytes_of_sha256_of_the_raw_public_key(self) -> None:
        # The public key computed by another library (libsodium, through PyNaCl).
        raw = nacl.signing.SigningKey(SEED).verify_key.encode()
        assert cose.raw_public(KEY.public_key()) == raw
        assert cose.kid_of(raw) == hashlib.sha256(raw).digest()[:8]
        assert len(cose.kid_of(raw)) == 8


class TestBase45:
    @pytest.mark.parametrize(
        ("data", "text"),
        [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
         (b"ietf!", "QED8WEX0")],
    )  # fmt: skip
    def test_rfc_9285_vectors(self, data: bytes, text: str) -> None:
        assert base45.b45encode(data).decode() == text
        assert base45.b45decode(text) == data


class TestRoundTrip:
    def test_a_signed_proof_verifies_with_its_facts(self) -> None:
        token = cose.sign(appointment(), KEY)
        assert token.startswith("PU1:")
        verdict = verify(token)
        assert verdict.outcome is Outcome.VALID
        assert verdict.claims == appointment()
        assert verdict.kid == domain.b64url(cose.kid_of(cose.raw_public(KEY.public_key())))

    def test_is_a_tagged_cose_sign1_with_eddsa_and_the_kid_in_the_protected_header(
        self,
    ) -> None:
        token = cose.sign(appointment(), KEY)
        cose_bytes = base45.b45decode(token[4:])
        tagged = cbor2.loads(cose_bytes)
        assert tagged.tag == 18
        protected, unprotected, payload, signature = tagged.value
        kid = hashlib.sha256(cose.raw_public(KEY.public_key())).digest()[:8]
        assert cbor2.loads(protected) == {1: -8, 4: kid} and unprotected == {}
        # The signature is over Sig_structure, checked here by libsodium (PyNaCl).
        to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload], canonical=True)
        nacl.signing.VerifyKey(cose.raw_public(KEY.public_key())).verify(to_be_signed, signature)
        assert cbor2.loads(payload)[1] == "puerta"

    @given(
        members=st.lists(
            st.tuples(st.text(max_size=2), st.integers(1900, 2030)), min_size=1, max_size=12
        ),
        index=st.integers(0, 2**31 - 1),
        kind=st.sampled_from(ProofKind),
    )
    def test_any_claims_round_trip(
        self, members: list[tuple[str, int]], index: int, kind: ProofKind
    ) -> None:
        base = appointment(index=index)
        claims = Claims(
            kind=kind, issued_at=base.issued_at, expires_at=base.expires_at,
            persons=len(members), members=tuple(MemberClaim(i, y) for i, y in members),
            status_index=index, **({} if kind is ProofKind.REGISTRATION else {
                "port": base.port, "service_date": base.service_date,
                "slot_starts_at": base.slot_starts_at}),
        )  # fmt: skip
        verdict = verify(cose.sign(claims, KEY))
        assert verdict.outcome is Outcome.VALID and verdict.claims == claims


class TestRefusals:
    def test_one_changed_byte_anywhere_is_forged(self) -> None:
        token = cose.sign(appointment(members=1), KEY)
        raw = bytes(base45.b45decode(token[4:]))
        kid_at = raw.find(cose.kid_of(cose.raw_public(KEY.public_key())))
        outcomes = set()
        for position in range(len(raw)):
            changed = bytearray(raw)
            changed[position] ^= 0x01
            verdict = verify("PU1:" + base45.b45encode(bytes(changed)).decode())
            outcomes.add(verdict.outcome)
            assert verdict.outcome in (Outcome.FORGED, Outcome.UNKNOWN_KEY), position
            if verdict.outcome is Outcome.UNKNOWN_KEY:
                assert kid_at <= position < kid_at + 8  # a byte of the kid itself
        assert Outcome.FORGED in outcomes

    @pytest.mark.parametrize("extra", [b"\x00", b"\xa0", b"anything at all"])
    def test_bytes_after_the_cose_sign1_are_forged(self, extra: bytes) -> None:
        # They are not signed: a verifier that ignored them would pass an altered token.
        raw = bytes(base45.b45decode(cose.sign(appointment(), KEY)[4:]))
        assert verify("PU1:" + base45.b45encode(raw + extra).decode()).outcome is Outcome.FORGED

    def test_bytes_after_the_protected_header_are_forged(self) -> None:
        signed = cbor2.loads(bytes(base45.b45decode(cose.sign(appointment(), KEY)[4:])))
        protected, unprotected, payload, signature = signed.value
        longer = cbor2.CBORTag(18, [protected + b"\x00", unprotected, payload, signature])
        token = "PU1:" + base45.b45encode(cbor2.dumps(longer)).decode()
        assert verify(token).outcome is Outcome.FORGED

    def test_another_key_is_unknown(self) -> None:
        assert verify(cose.sign(appointment(), OTHER)).outcome is Outcome.UNKNOWN_KEY

    def test_another_key_under_a_published_kid_is_forged(self) -> None:
        token = cose.sign(appointment(), OTHER)
        tagged = cbor2.loads(base45.b45decode(token[4:]))
        protected = cbor2.dumps(
            {1: -8, 4: cose.kid_of(cose.raw_public(KEY.public_key()))}, canonical=True
        )
        _, _, payload, signature = tagged.value
        swapped = cbor2.CBORTag(18, [protected, {}, payload, signature])
        forged = "PU1:" + base45.b45encode(cbor2.dumps(swapped, canonical=True)).decode()
        verdict = verify(forged)
        assert verdict.outcome is Outcome.FORGED and verdict.reason == "bad_signature"

    def test_past_its_expiry_is_expired(self) -> None:
        token = cose.sign(appointment(), KEY)
        assert verify(token, now=T0 + dt.timedelta(days=15)).outcome is Outcome.EXPIRED
        assert verify(token, now=T0 + dt.timedelta(days=15, seconds=-1)).valid

    def test_a_revoked_index_is_revoked(self) -> None:
        token = cose.sign(appointment(index=77), KEY)
        assert verify(token, revoked=domain.bitstring([77], 131_072)).outcome is Outcome.REVOKED
        assert verify(token, revoked=domain.bitstring([76, 78], 131_072)).valid

    @pytest.mark.parametrize(
        "text", ["", "hello", "https://example.org/?PU1:", "HC1:6BFOXN", "pu1:ABC", "PU2:BB8"]
    )
    def test_text_without_the_prefix_is_not_a_proof(self, text: str) -> None:
        assert verify(text).outcome is Outcome.NOT_A_PROOF

    @pytest.mark.parametrize("body", ["", "BB8", "::::", "%69 VD92EX0", "Ã", "A" * 5])
    def test_a_prefix_over_anything_else_is_forged(self, body: str) -> None:
        verdict = verify("PU1:" + body)
        assert verdict.outcome is Outcome.FORGED and verdict.claims is None

    def test_a_cose_sign1_of_other_claims_is_forged(self) -> None:
        protected = cbor2.dumps({1: -8, 4: cose.kid_of(cose.raw_public(KEY.public_key()))})
        payload = cbor2.dumps({1: "puerta", 99: "name"})
        signature = KEY.sign(cose.sig_structure(protected, payload))
        tagged = cbor2.CBORTag(18, [protected, {}, payload, signature])
        token = "PU1:" + base45.b45encode(cbor2.dumps(tagged)).decode()
        verdict = verify(token)
        assert verdict.outcome is Outcome.FORGED and verdict.reason.startswith("malformed")


class TestQrSize:
    def test_a_group_of_12_fits_version_14_at_every_port(self) -> None:
        for port in domain_ports():
            token = cose.sign(appointment(members=12, index=65_535, port=port), KEY)
            assert qr.version(token) <= 14, (port, len(token))

    def test_it_is_alphanumeric_at_error_correction_q(self) -> None:
        code = qr.make(cose.sign(appointment(), KEY))
        assert code.mode == "alphanumeric" and code.error == "Q"


def domain_ports() -> list[str]:
    from puerta.geo.domain import PORTS

    return [p.slug for p in PORTS]
