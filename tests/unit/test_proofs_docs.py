"""docs/proofs.md's worked example is a real token of its test key, saying what it says."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from puerta.proofs import cose, domain
from puerta.proofs.domain import KeyPeriod, Outcome

DOC = Path(__file__).resolve().parents[2] / "docs" / "proofs.md"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_the_worked_example_verifies_with_the_test_key() -> None:
    token = re.search(r"^(PU1:.+)$", DOC.read_text(), re.M)
    assert token is not None
    public = cose.PublicKey(KEY.public_key(), KeyPeriod(domain.EPOCH, None))
    keys = {cose.kid_of(cose.raw_public(KEY.public_key())): public}
    now = dt.datetime(2024, 9, 3, 18, tzinfo=dt.UTC)
    verdict = cose.verify(token[1], keys=keys, now=now, revoked=None)
    assert verdict.outcome is Outcome.VALID and verdict.claims is not None
    assert verdict.claims.status_index == 4242 and verdict.kid == "Vkdap1RjR0w"
    assert cose.sign(verdict.claims, KEY) == token[1]  # Ed25519 is deterministic
