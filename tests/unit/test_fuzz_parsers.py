"""Every parser of outside input, thrown arbitrary bytes, text and structures.

Each answers a valid value or refuses with the project's own error (a ``DomainError``, or
the documented refusal: a proof's verdict, ``None`` for a claim code); anything else
(``ValueError``, ``OverflowError``, ``KeyError``...) escaping one of them would be a 500 or
a crash of the verifier. The ``@example``s are inputs that once escaped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import string
from typing import Any

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given
from hypothesis import strategies as st

from puerta import i18n
from puerta.accounts import domain as accounts
from puerta.appointments import domain as appointments
from puerta.appointments import rules
from puerta.errors import DomainError
from puerta.incidents import domain as incidents
from puerta.proofs import cose
from puerta.proofs import domain as proofs
from puerta.proofs.cose import PublicKey
from puerta.proofs.domain import Claims, KeyPeriod, Malformed, MemberClaim, Outcome, ProofKind
from puerta.shelters import csvimport
from puerta.shelters.domain import MAX_BEDS
from puerta.web.pages import forms, officer

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KID = cose.kid_of(cose.raw_public(KEY.public_key()))
KEYS = {KID: PublicKey(KEY.public_key(), KeyPeriod(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None))}
NOW = dt.datetime(2024, 9, 3, 17, 30, tzinfo=dt.UTC)
BASE45 = string.digits + string.ascii_uppercase + " $%*+-./:"

# What people and programs type where a number, a date or a code is asked for: digits of
# other scripts ("²" is a digit to str.isdigit, not to int), too many digits for int()
# (4,300) or for a C long, floats' spellings, signs, separators, blanks.
TRICKY = st.sampled_from(
    ["", " ", "0", "-1", "+1", "1_000", "1e999", "nan", "inf", "-inf", "0x10", "1,5", "²",
     "٣", "１２", "𝟘", "9" * 20, "9" * 5000, "\x00", "\u00a0", "ß", "ﬁ", "İ", "\ud7ff"]
)  # fmt: skip
TEXTS = st.text() | TRICKY | st.from_regex(r"\A[0-9]{1,6000}\Z")
CBOR = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-70_000, 70_000) | st.text(max_size=5), inner, max_size=5)
        | st.builds(cbor2.CBORTag, st.integers(0, 2**16), inner)
    ),
    max_leaves=25,
)


def _token(cose_bytes: bytes) -> str:
    return proofs.PREFIX + base45.b45encode(cose_bytes).decode("ascii")


def _signed(payload: bytes, header: Any = None) -> str:
    protected = cbor2.dumps({1: -8, 4: KID} if header is None else header, canonical=True)
    signature = KEY.sign(cose.sig_structure(protected, payload))
    return _token(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def _claims_map(draw: st.DrawFn) -> dict[int, Any]:
    """puerta's claims map, its values drawn from everything CBOR holds and every integer."""
    value = st.integers() | CBOR
    own: dict[int, Any] = {
        proofs.TYPE: draw(st.sampled_from(["registration", "appointment"]) | value),
        proofs.PERSONS: draw(value),
        proofs.MEMBERS: draw(st.lists(st.tuples(st.text(max_size=2), value)) | value),
        proofs.INDEX: draw(value),
    }
    if draw(st.booleans()):
        own |= {proofs.PORT: draw(st.just("san-ysidro") | value),
                proofs.SERVICE_DATE: draw(st.text() | value), proofs.SLOT: draw(value)}  # fmt: skip
    return {proofs.ISS: draw(st.just("puerta") | value), proofs.IAT: draw(value),
            proofs.EXP: draw(value), proofs.PRIVATE_CLAIM: own}  # fmt: skip


def _registration(issued: int, expires: int) -> dict[int, Any]:
    own = {proofs.TYPE: "registration", proofs.PERSONS: 1, proofs.MEMBERS: [], proofs.INDEX: 0}
    return {proofs.ISS: "puerta", proofs.IAT: issued, proofs.EXP: expires,
            proofs.PRIVATE_CLAIM: own}  # fmt: skip


def _assert_verdict(verdict: proofs.Verdict) -> None:
    assert isinstance(verdict.outcome, Outcome)
    assert (verdict.claims is not None) == (
        verdict.outcome in (Outcome.VALID, Outcome.EXPIRED, Outcome.REVOKED)
        or verdict.reason == "issued_outside_key_period"
    )


class TestProofTokens:
    @given(
        st.text()
        | st.text(BASE45).map(proofs.PREFIX.__add__)
        | st.binary().map(_token)
        | CBOR.map(lambda value: _token(cbor2.dumps(value)))
    )
    @example("PU1:Ã")
    @example("PU1:" + "A" * 5)
    def test_any_text_gets_a_verdict(self, text: str) -> None:
        verdict = cose.verify(text, keys=KEYS, now=NOW, revoked=None)
        _assert_verdict(verdict)
        assert verdict.outcome is not Outcome.VALID

    @given(st.composite(_claims_map)() | CBOR)
    @example(_registration(10**30, 10**31))
    @example(_registration(-(10**30), 0))
    def test_a_payload_signed_by_a_published_key_whatever_it_holds_gets_a_verdict(
        self, payload: Any
    ) -> None:
        # A key's holder signs only puerta's claims; a bug or a stolen key must still
        # make the verifier answer, not crash.
        verdict = cose.verify(_signed(cbor2.dumps(payload)), keys=KEYS, now=NOW, revoked=b"")
        _assert_verdict(verdict)

    @given(CBOR)
    def test_a_protected_header_of_anything_gets_a_verdict(self, header: Any) -> None:
        _assert_verdict(cose.verify(_signed(b"\xa0", header), keys=KEYS, now=NOW, revoked=None))

    @given(st.composite(_claims_map)() | CBOR)
    def test_the_claims_map_is_read_or_refused_as_malformed(self, payload: Any) -> None:
        try:
            claims = proofs.from_map(payload)
        except Malformed:
            return
        assert isinstance(claims, Claims) and proofs.from_map(proofs.to_map(claims)) == claims

    def test_a_signed_token_still_verifies(self) -> None:
        # The properties above refuse; this one must still pass through the same code.
        claims = Claims(ProofKind.REGISTRATION, proofs.seconds(NOW), proofs.seconds(NOW) + 60,
                        1, (MemberClaim("MJ", 1990),), 3)  # fmt: skip
        assert cose.verify(cose.sign(claims, KEY), keys=KEYS, now=NOW, revoked=None).valid


CELL = TEXTS | st.sampled_from(["san-ysidro", "Tijuana", "32.5", "-117.03", "12", "food;legal"])


@st.composite
def shelter_files(draw: st.DrawFn) -> str:
    """CSV text: a header of known (and unknown) columns, then rows of tricky cells."""
    known = list(csvimport.COLUMNS)
    names = draw(st.lists(st.sampled_from(known) | st.text(max_size=8), max_size=16))
    if draw(st.booleans()):
        names = draw(st.permutations(known))
    rows = draw(st.lists(st.lists(CELL, max_size=len(names) + 2), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def _assert_rows(text: str) -> None:
    try:
        rows, problems = csvimport.read_rows(text)
    except csvimport.CsvRejected as refused:
        assert all(isinstance(p.error, DomainError) for p in refused.problems)
        return
    assert all(isinstance(p.error, DomainError) for p in problems)
    for row in rows:
        shelter = row.shelter
        assert math.isfinite(shelter.lat) and -90 <= shelter.lat <= 90
        assert math.isfinite(shelter.lon) and -180 <= shelter.lon <= 180
        assert type(shelter.beds) is int and 0 <= shelter.beds <= MAX_BEDS


class TestShelterCsv:
    @given(st.binary())
    @example(b"\xef\xbb\xbf")
    def test_any_bytes_are_read_or_refused_with_a_domain_error(self, data: bytes) -> None:
        try:
            text = csvimport.decode(data)
        except csvimport.CsvNotText:
            return
        _assert_rows(text)

    @given(shelter_files())
    @example(
        ",".join(csvimport.COLUMNS) + "\n"
        + f"casa,Casa,org,,Tijuana,32.5,-117.0,{'9' * 5000},,,,,,\n"
    )  # fmt: skip
    def test_any_rows_are_read_or_named_with_a_domain_error(self, text: str) -> None:
        _assert_rows(text)


class TestIdempotencyKey:
    @given(TEXTS)
    def test_is_kept_as_sent_or_refused(self, key: str) -> None:
        try:
            kept = appointments.check_idempotency_key(key)
        except appointments.InvalidIdempotencyKey:
            return
        assert kept == key and 1 <= len(key) <= 128 and key.isascii() and key.isprintable()


class TestCodesPeopleType:
    @given(TEXTS)
    def test_a_receipt_is_its_20_digits_or_not_found(self, typed: str) -> None:
        try:
            digits = incidents.normalize_receipt(typed)
        except incidents.ReceiptNotFound:
            return
        assert len(digits) == 20 and digits.isascii() and digits.isdigit()
        assert incidents.normalize_receipt(incidents.format_receipt(digits)) == digits

    @given(TEXTS | st.text(accounts.CLAIM_ALPHABET.lower() + " -O0", max_size=16))
    def test_a_claim_code_is_canonical_or_none(self, typed: str) -> None:
        code = accounts.normalize_claim_code(typed)
        if code is not None:
            assert accounts.normalize_claim_code(code) == code
            assert set(code.replace("-", "")) <= set(accounts.CLAIM_ALPHABET)

    @given(TEXTS | st.text(rules.CONFIRMATION_ALPHABET.lower() + " -", max_size=12))
    @example("T5G4-ALUB\x00")
    def test_a_confirmation_number_is_of_its_alphabet_or_empty(self, typed: str) -> None:
        # Empty names no appointment; nothing else may reach the query (PostgreSQL refuses
        # a NUL in one).
        number = rules.normalize_confirmation_number(typed)
        assert len(number) <= 32 and set(number) <= set(rules.CONFIRMATION_ALPHABET)
        assert rules.normalize_confirmation_number(number) == number

    def test_a_confirmation_number_is_read_back_as_typed_by_hand(self) -> None:
        assert rules.normalize_confirmation_number(" t5g4-alub ") == "T5G4ALUB"

    @given(TEXTS)
    def test_a_username_is_normalized_or_refused(self, typed: str) -> None:
        try:
            username = accounts.normalize_username(typed)
        except accounts.InvalidUsername:
            return
        assert accounts.normalize_username(username) == username

    @given(TEXTS, st.none() | st.integers())
    def test_an_incidents_month_and_day_are_read_or_refused(
        self, month: str, day: int | None
    ) -> None:
        try:
            when = incidents.parse_when(month, day, today=NOW.date())
        except DomainError:
            return
        assert incidents.EARLIEST_MONTH <= (when.year, when.month) <= (2024, 9)


class TestAcceptLanguage:
    @given(st.none() | TEXTS | st.lists(TEXTS | st.sampled_from(["es;q=0.5", "ht"])).map(",".join))
    @example("es;q=nan, ht;q=inf")
    def test_always_names_a_language_puerta_has(self, header: str | None) -> None:
        assert i18n.negotiate(header, "es") in i18n.available_languages()


class TestErrorMessages:
    @given(
        st.lists(st.text() | st.sampled_from(["\ud800", "\udfff"])).map("".join),
        st.sampled_from(sorted(i18n.available_languages())),
    )
    @example("san-ysidro\ud800", "es")
    def test_a_value_quoted_from_the_request_leaves_as_utf8(
        self, value: str, language: str
    ) -> None:
        # JSON can carry an unpaired surrogate ("\\ud800"); an answer in UTF-8 cannot.
        shown = i18n.translate_error(appointments.UnknownPort(slug=value), language)
        assert shown.encode("utf-8")


class TestFormFields:
    @given(TEXTS)
    def test_a_date_is_read_or_refused(self, typed: str) -> None:
        try:
            assert isinstance(forms.parse_date(typed), dt.date)
        except forms.BadDate:
            pass

    @given(TEXTS, TEXTS, TEXTS)
    @example("99999999999999999999", "1", "2024")
    @example("1", "²", "2024")
    def test_a_date_in_three_fields_is_read_or_refused(
        self, day: str, month: str, year: str
    ) -> None:
        try:
            assert isinstance(forms.parse_date_parts(day, month, year), dt.date)
        except forms.BadDateParts:
            pass

    @given(TEXTS, TEXTS)
    def test_a_location_is_two_numbers_in_range_or_refused(self, lat: str, lon: str) -> None:
        try:
            got = forms.parse_location_values(lat, lon)
        except forms.LocationMissing:
            return
        assert -90 <= got[0] <= 90 and -180 <= got[1] <= 180

    @given(TEXTS, st.integers(1, 12))
    @example("²", 3)
    @example("9" * 5000, 12)
    def test_a_small_number_is_its_digits_or_none(self, typed: str, most: int) -> None:
        number = forms.small_number(typed, most)
        if number is not None:
            assert 0 <= number < 10**most and 1 <= len(typed) <= most

    @given(TEXTS)
    @example("²")
    @example("9" * 5000)
    def test_a_row_id_is_a_positive_32_bit_integer_or_not_found(self, typed: str) -> None:
        try:
            assert 0 < officer.row_id(typed) < 2**31
        except DomainError as refused:
            assert refused.status == 404


@pytest.mark.parametrize(
    ("typed", "number"), [("12", 12), ("007", 7), ("٣", 3), ("۱۴", 14), ("²", None), ("1234", None)]
)
def test_a_small_number_is_read_in_any_script_s_digits(typed: str, number: int | None) -> None:
    assert forms.small_number(typed, 3) == number
