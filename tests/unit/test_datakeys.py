"""Envelope encryption (puerta.datakeys): sealing, the data keys, the KEKs, the column types.

The ring reads and writes its table on an in-memory SQLite database: no file, no server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import puerta.models  # noqa: F401  (registers every table)
from puerta import vault
from puerta.accounts.tables import GroupMember
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.datakeys.columns import DataKeysUnbound, Sealed, SealedColumnCompared, SealedText
from puerta.datakeys.keks import (
    TEST_KEK,
    BadDataKeys,
    DataKeysExist,
    DataKeysMissing,
    Keks,
    b64,
    init_kek_file,
    kek_id,
    load_keks,
)
from puerta.datakeys.ring import (
    KEYS,
    DataKeys,
    SealedValueError,
    UnknownDataKey,
    UnknownKeyEncryptionKey,
    key_id_of,
)
from puerta.datakeys.rotation import sealed_fields
from puerta.db import Base, make_engine

NOW = dt.datetime(2024, 9, 2, 18, 0, tzinfo=dt.UTC)
COLUMN = b"group_members.family_names"


def keks_of(*keys: bytes) -> Keks:
    return Keks({kek_id(k): k for k in keys}, kek_id(keys[0]))


@pytest.fixture
def engine() -> Engine:
    engine = make_engine("sqlite://")
    KEYS.create(engine)
    return engine


def ring_on(engine: Engine, keks: Keks | None = None) -> DataKeys:
    chosen = keks or keks_of(TEST_KEK)
    return DataKeys(lambda: chosen, engine.begin, FixedClock(NOW))


class TestSealing:
    def test_a_value_opens_again_and_no_two_seals_are_alike(self, engine: Engine) -> None:
        ring = ring_on(engine)
        first, second = ring.seal(b"Quispe", COLUMN), ring.seal(b"Quispe", COLUMN)
        assert first != second
        assert ring.open(first, COLUMN) == ring.open(second, COLUMN) == b"Quispe"

    def test_a_sealed_value_is_version_key_id_nonce_ciphertext_and_tag(
        self, engine: Engine
    ) -> None:
        ring = ring_on(engine)
        sealed = ring.seal(b"1996-05-21", COLUMN)
        assert sealed[0] == 1 and int.from_bytes(sealed[1:5], "big") == ring.current == 1
        assert len(sealed) == 1 + 4 + 12 + len(b"1996-05-21") + 16
        assert b"1996-05-21" not in sealed and key_id_of(sealed) == 1

    def test_a_value_moved_to_another_column_does_not_open(self, engine: Engine) -> None:
        ring = ring_on(engine)
        sealed = ring.seal(b"1996-05-21", b"group_members.birth_date")
        with pytest.raises(SealedValueError, match="group_members.given_names"):
            ring.open(sealed, b"group_members.given_names")

    def test_any_byte_changed_makes_the_value_refused(self, engine: Engine) -> None:
        ring = ring_on(engine)
        sealed = ring.seal(b"Rosa Elena", COLUMN)
        for at in range(len(sealed)):
            altered = bytearray(sealed)
            altered[at] ^= 0x01
            with pytest.raises((SealedValueError, UnknownDataKey)):
                ring.open(bytes(altered), COLUMN)
        with pytest.raises(SealedValueError):
            ring.open(sealed[:-1], COLUMN)

    def test_an_unknown_key_id_fails_clearly(self, engine: Engine) -> None:
        ring = ring_on(engine)
        sealed = bytearray(ring.seal(b"Rosa Elena", COLUMN))
        sealed[1:5] = (77).to_bytes(4, "big")
        with pytest.raises(UnknownDataKey) as caught:
            ring.open(bytes(sealed), COLUMN)
        assert caught.value.code == "unknown_data_key" and caught.value.status == 503
        assert caught.value.params == {"key_id": 77}

    def test_plain_bytes_are_not_a_sealed_value(self, engine: Engine) -> None:
        with pytest.raises(SealedValueError, match="not a sealed value"):
            ring_on(engine).open(b"Quispe", COLUMN)


class TestDataKeys:
    def test_the_first_key_is_made_once_and_kept_only_wrapped(self, engine: Engine) -> None:
        ring = ring_on(engine)
        sealed = ring.seal(b"Quispe", COLUMN)
        other = ring_on(engine)  # another process on the same database
        assert other.open(sealed, COLUMN) == b"Quispe"
        with engine.connect() as conn:
            rows = conn.execute(select(KEYS.c.id, KEYS.c.kek_id, KEYS.c.wrapped)).all()
        assert [(i, k) for i, k, _ in rows] == [(1, kek_id(TEST_KEK))]
        assert len(rows[0][2]) == 12 + 32 + 16  # nonce, the wrapped key, tag

    def test_without_its_kek_no_data_key_opens(self, engine: Engine) -> None:
        sealed = ring_on(engine).seal(b"Quispe", COLUMN)
        stranger = ring_on(engine, keks_of(os.urandom(32)))
        with pytest.raises(UnknownKeyEncryptionKey):
            stranger.open(sealed, COLUMN)

    def test_a_new_key_seals_what_follows_and_the_old_one_still_opens(self, engine: Engine) -> None:
        ring = ring_on(engine)
        old = ring.seal(b"Quispe", COLUMN)
        assert ring.rotate() == 2
        new = ring.seal(b"Mamani", COLUMN)
        assert (key_id_of(old), key_id_of(new)) == (1, 2)
        assert ring.open(old, COLUMN) == b"Quispe"
        # A process that loaded its keys before the rotation fetches the new one when met.
        assert ring_on(engine).open(new, COLUMN) == b"Mamani"

    def test_rewrapping_changes_the_kek_and_no_sealed_value(self, engine: Engine) -> None:
        old_kek, new_kek = os.urandom(32), os.urandom(32)
        sealed = ring_on(engine, keks_of(old_kek)).seal(b"Quispe", COLUMN)
        both = ring_on(engine, keks_of(new_kek, old_kek))
        assert both.rewrap() == {
            "wrapped_by": kek_id(new_kek), "data_keys": 1, "unused_keks": [kek_id(old_kek)],
        }  # fmt: skip
        assert ring_on(engine, keks_of(new_kek)).open(sealed, COLUMN) == b"Quispe"
        with pytest.raises(UnknownKeyEncryptionKey):
            ring_on(engine, keks_of(old_kek)).open(sealed, COLUMN)


def settings_with(tmp_path: Path, env: str, **more: object) -> Settings:
    return Settings(env=env, data_key_file=tmp_path / "data-keys.json", **more)  # type: ignore[arg-type]


class TestKeyEncryptionKeys:
    def test_the_file_is_private_and_never_overwritten(self, tmp_path: Path) -> None:
        path = tmp_path / "keys" / "data-keys.json"
        made = init_kek_file(path, now=NOW)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with pytest.raises(DataKeysExist):
            init_kek_file(path, now=NOW)
        [entry] = json.loads(path.read_text())
        assert entry["id"] == made and made not in entry["key"]

    def test_development_writes_the_file_tests_use_a_fixed_key_production_refuses(
        self, tmp_path: Path
    ) -> None:
        clock = FixedClock(NOW)
        developed = load_keks(settings_with(tmp_path, "development"), clock)
        assert stat.S_IMODE((tmp_path / "data-keys.json").stat().st_mode) == 0o600
        assert load_keks(settings_with(tmp_path, "development"), clock) == developed
        tested = load_keks(settings_with(tmp_path / "none", "test"), clock)
        assert tested.current == kek_id(TEST_KEK)
        with pytest.raises(DataKeysMissing) as refused:
            load_keks(settings_with(tmp_path / "none", "production", secret_key="k" * 32), clock)
        assert refused.value.status == 503
        assert not (tmp_path / "none").exists()

    def test_injected_keys_wrap_with_the_first_and_open_with_all(self, tmp_path: Path) -> None:
        filed = init_kek_file(tmp_path / "data-keys.json", now=NOW)
        new, old = os.urandom(32), os.urandom(32)
        keks = load_keks(settings_with(tmp_path, "test", data_key=f"{b64(new)},{b64(old)}"),
                         FixedClock(NOW))  # fmt: skip
        assert keks.current == kek_id(new)
        assert set(keks.keys) == {kek_id(new), kek_id(old), filed}

    @pytest.mark.parametrize(
        "content", ["not json", "[]", '[{"key": "c2hvcnQ"}]', '[{"id": "x", "key": "%s"}]']
    )
    def test_a_file_that_is_wrong_is_refused(self, tmp_path: Path, content: str) -> None:
        (tmp_path / "data-keys.json").write_text(content.replace("%s", b64(os.urandom(32))))
        with pytest.raises(BadDataKeys):
            load_keks(settings_with(tmp_path, "test"), FixedClock(NOW))


class TestColumns:
    def test_sql_cannot_compare_a_sealed_column(self) -> None:
        with pytest.raises(SealedColumnCompared, match="group_members.birth_date"):
            select(GroupMember.id).where(GroupMember.birth_date == dt.date(1990, 1, 1))
        with pytest.raises(SealedColumnCompared):
            select(GroupMember.id).order_by(GroupMember.family_names.desc())
        assert "IS NULL" in str(select(GroupMember.id).where(GroupMember.id_document.is_(None)))

    def test_every_sealed_column_is_bound_to_its_own_name(self) -> None:
        fields = sealed_fields(Base.metadata)
        assert {f.name for f in fields} == {
            "group_members.given_names", "group_members.family_names",
            "group_members.birth_date", "group_members.id_document",
            "window_commitments.secret", "screenings.answers", "exception_requests.reason",
        }  # fmt: skip
        for field in fields:
            if isinstance(field.column.type, Sealed):
                assert field.column.type.column == field.name
            else:
                assert field.context(), field.name  # its purpose is made of its row

    def test_an_engine_without_a_ring_refuses_to_guess(self) -> None:
        engine = make_engine("sqlite://")
        with pytest.raises(DataKeysUnbound):
            SealedText("group_members.given_names").process_bind_param("Quispe", engine.dialect)


class TestVault:
    def test_a_token_opens_for_its_purpose_only(self, engine: Engine) -> None:
        sealer = vault.Vault(ring_on(engine))
        token = sealer.seal('["pregnant"]', purpose="screening:group:1")
        assert token.startswith("v2.") and "pregnant" not in token
        assert sealer.open(token, purpose="screening:group:1") == '["pregnant"]'
        with pytest.raises(vault.VaultError):
            sealer.open(token, purpose="screening:group:2")
        with pytest.raises(vault.VaultError):
            sealer.open(token[:-2], purpose="screening:group:1")

    def test_a_legacy_token_opens_with_the_secret_it_was_derived_from(self) -> None:
        token = vault.legacy_seal("[]", purpose="p", root=b"r" * 32)
        assert token.startswith("v1.")
        assert vault.legacy_open(token, purpose="p", root=b"r" * 32) == "[]"
        with pytest.raises(vault.VaultError):
            vault.legacy_open(token, purpose="p", root=b"s" * 32)
