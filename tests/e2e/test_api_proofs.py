"""Signed proofs over HTTP and the command line: the person's proofs and QR codes, the
well-known keys and status list, the printable page, and `puerta proof verify`."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from puerta.accounts.domain import Role
from puerta.cli import app as cli
from puerta.clock import FixedClock
from puerta.config import Settings, get_settings
from puerta.proofs import keys, qr
from puerta.proofs.domain import from_b64url
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.test_api_accounts import assert_problem
from tests.e2e.test_api_verify import confirmed_appointment
from tests.factories import member, register, registrant_with_group, staff

runner = CliRunner()
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TWELVE = [
    member(given_names=f"N{i} Ana", family_names="Wxyz", birth_date=f"19{50 + i}-01-01")
    for i in range(12)
]


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "proof-keys.json"
    keys.init_keys(path, now=T0)
    return path


@pytest.fixture
def proof_client(settings: Settings, clock: FixedClock, keys_file: Path) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"proof_keys_file": keys_file})
    app = create_app(configured, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.runtime.engine.dispose()


@pytest.fixture
def cli_env(
    proof_client: TestClient, keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    rt = proof_client.app.state.runtime  # type: ignore[attr-defined]
    monkeypatch.setenv("PUERTA_DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("PUERTA_PROOF_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("PUERTA_NOW", rt.clock.now().isoformat())
    monkeypatch.setenv("PUERTA_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def my_proofs(client: TestClient, headers: dict[str, str]) -> Any:
    answer = client.get("/api/v1/me/proofs", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def verify(*args: str) -> Any:
    return runner.invoke(cli, ["proof", "verify", *args])


class TestMyProofs:
    def test_a_registered_family_gets_a_registration_proof_and_no_appointment_yet(
        self, proof_client: TestClient
    ) -> None:
        body = my_proofs(proof_client, registrant_with_group(proof_client))
        assert set(body) == {"registration", "appointment"} and body["appointment"] is None
        assert set(body["registration"]) == {"token", "expires_at"}
        assert body["registration"]["token"].startswith("PU1:")
        assert body["registration"]["expires_at"].startswith("2024-10-02T18:00:00")

    def test_a_confirmed_appointment_gets_its_proof(
        self, proof_client: TestClient, clock: FixedClock
    ) -> None:
        confirmed_appointment(proof_client, clock)
        headers = self._family_headers(proof_client)
        body = my_proofs(proof_client, headers)
        assert body["appointment"]["token"].startswith("PU1:")
        assert body["appointment"]["expires_at"].startswith("2024-09-18T06:00:00")  # El Paso

    def _family_headers(self, client: TestClient) -> dict[str, str]:
        # confirmed_appointment's family is the last one logged in with a group.
        from tests.factories import login

        rt = client.app.state.runtime  # type: ignore[attr-defined]
        with rt.uow() as uow:
            from sqlalchemy import select

            from puerta.accounts.tables import Account, Group

            username = uow.session.scalar(
                select(Account.username).join(Group, Group.account_id == Account.id)
            )
        return login(client, str(username))

    def test_without_a_family_group_is_409_group_missing(self, proof_client: TestClient) -> None:
        assert_problem(proof_client.get("/api/v1/me/proofs", headers=register(proof_client)),
                       409, "group_missing")  # fmt: skip

    def test_needs_a_registrant(self, proof_client: TestClient) -> None:
        rt = proof_client.app.state.runtime  # type: ignore[attr-defined]
        assert_problem(proof_client.get("/api/v1/me/proofs"), 401, "not_authenticated")
        officer = staff(rt, Role.OFFICER, port="el-paso")
        assert proof_client.get("/api/v1/me/proofs", headers=officer).status_code == 403


class TestQrCodes:
    def test_svg_and_png_of_the_registration(self, proof_client: TestClient) -> None:
        headers = registrant_with_group(proof_client)
        svg = proof_client.get("/api/v1/me/proofs/registration.svg", headers=headers)
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in svg.content and b"style=" not in svg.content
        png = proof_client.get("/api/v1/me/proofs/registration.png", headers=headers)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert png.headers["cache-control"] == "no-store"

    def test_no_confirmed_appointment_no_code(self, proof_client: TestClient) -> None:
        headers = registrant_with_group(proof_client)
        answer = proof_client.get("/api/v1/me/proofs/appointment.svg", headers=headers)
        assert_problem(answer, 404, "no_confirmed_appointment")

    def test_an_unknown_kind_is_a_clear_422(self, proof_client: TestClient) -> None:
        headers = registrant_with_group(proof_client)
        answer = proof_client.get("/api/v1/me/proofs/passport.svg", headers=headers)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"

    def test_a_group_of_12_fits_version_14(self, proof_client: TestClient) -> None:
        headers = registrant_with_group(proof_client, members=TWELVE)
        token = my_proofs(proof_client, headers)["registration"]["token"]
        code = segno.make(token, mode="alphanumeric", error="q", micro=False, boost_error=False)
        assert code.version <= 14 and qr.version(token) == code.version


class TestWellKnown:
    def test_the_keys_are_a_jwks_of_ed25519_keys_with_their_periods(
        self, proof_client: TestClient, keys_file: Path
    ) -> None:
        answer = proof_client.get("/.well-known/puerta-keys.json")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=300"
        (key,) = answer.json()["keys"]
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use", "signs_from", "signs_until"}
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        assert len(from_b64url(key["x"])) == 32 and len(from_b64url(key["kid"])) == 8
        assert "=" not in key["x"] + key["kid"]
        assert key["signs_from"] == "2024-01-01T00:00:00Z" and key["signs_until"] is None
        assert "private" not in answer.text and "d" not in key

    def test_the_status_list_is_signed_by_the_published_key(self, proof_client: TestClient) -> None:
        answer = proof_client.get("/.well-known/puerta-status.json")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=300"
        document = answer.json()
        (key,) = proof_client.get("/.well-known/puerta-keys.json").json()["keys"]
        assert document["kid"] == key["kid"]
        payload = from_b64url(document["payload"])
        public = Ed25519PublicKey.from_public_bytes(from_b64url(key["x"]))
        public.verify(from_b64url(document["signature"]), payload)  # raises if not
        inner = json.loads(payload)
        assert inner["issuer"] == "puerta" and inner["statusPurpose"] == "revocation"
        assert inner["size"] >= 131_072 and inner["encodedList"].startswith("u")
        assert inner["validFrom"] == "2024-09-02T18:00:00Z"

    def test_are_public(self, proof_client: TestClient) -> None:
        for path in ("/.well-known/puerta-keys.json", "/.well-known/puerta-status.json"):
            assert proof_client.get(path, headers={"Authorization": "Bearer nonsense"}).is_success


class TestProofPage:
    def test_shows_the_code_and_the_minimal_facts_in_three_languages(
        self, proof_client: TestClient
    ) -> None:
        headers = registrant_with_group(proof_client, language="ht")
        token = headers["Authorization"].split()[1]
        proof_client.cookies.set("puerta_session", token)
        page = proof_client.get("/proof")
        proof_client.cookies.clear()
        assert page.status_code == 200, page.text
        assert '<svg viewBox="0 0' in page.text and 'class="qr"' in page.text
        assert "MJ 1990" in page.text and "Marie" not in page.text and "HTI" not in page.text
        assert page.text.count('class="proof-text"') == 3
        for lang in ('lang="es"', 'lang="en"', 'lang="ht"'):
            assert lang in page.text
        assert "/verify" in page.text and "style=" not in page.text


@pytest.mark.usefixtures("cli_env")
class TestProofVerifyCommand:
    def test_a_valid_proof_exits_0_with_its_facts(self, proof_client: TestClient) -> None:
        token = my_proofs(proof_client, registrant_with_group(proof_client))["registration"]
        result = verify(token["token"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["outcome"] == "valid" and out["facts"]["members"] == [
            {"initials": "MJ", "birth_year": 1990}
        ]

    def test_with_saved_keys_and_status_documents(
        self, proof_client: TestClient, tmp_path: Path
    ) -> None:
        token = my_proofs(proof_client, registrant_with_group(proof_client))["registration"]
        saved_keys, saved_status = tmp_path / "k.json", tmp_path / "s.json"
        saved_keys.write_text(proof_client.get("/.well-known/puerta-keys.json").text)
        saved_status.write_text(proof_client.get("/.well-known/puerta-status.json").text)
        result = verify(token["token"], "--keys", str(saved_keys), "--status", str(saved_status))
        assert result.exit_code == 0, result.output

    @pytest.mark.parametrize(
        ("token", "outcome"),
        [("https://example.org/", "not_a_proof"), ("PU1:%%%", "forged"), ("PU1:", "forged")],
    )
    def test_anything_else_exits_1_with_its_outcome(self, token: str, outcome: str) -> None:
        result = verify(token)
        assert result.exit_code == 1
        assert json.loads(result.stdout)["outcome"] == outcome

    def test_another_servers_keys_say_unknown_key(
        self, proof_client: TestClient, tmp_path: Path
    ) -> None:
        token = my_proofs(proof_client, registrant_with_group(proof_client))["registration"]
        other = tmp_path / "other.json"
        keys.init_keys(other, now=T0)
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(keys.load_ring(
            Settings(env="test", proof_keys_file=other), FixedClock(T0)).jwks()))  # fmt: skip
        result = verify(token["token"], "--keys", str(jwks))
        assert result.exit_code == 1 and json.loads(result.stdout)["outcome"] == "unknown_key"

    def test_a_broken_keys_file_exits_2(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text("{not json")
        result = verify("PU1:", "--keys", str(broken))
        assert result.exit_code == 2 and "bad_proof_keys" in result.stderr


@pytest.mark.usefixtures("cli_env")
class TestKeysCommands:
    def test_init_refuses_to_overwrite_and_list_shows_public_keys_only(
        self, keys_file: Path
    ) -> None:
        before = keys_file.read_text()
        result = runner.invoke(cli, ["keys", "init"])
        assert result.exit_code == 2 and "proof_keys_exist" in result.stderr
        assert keys_file.read_text() == before
        listed = runner.invoke(cli, ["keys", "list"])
        assert listed.exit_code == 0 and "private" not in listed.stdout
        assert len(json.loads(listed.stdout)["keys"]) == 1

    def test_rotate_adds_a_key_and_keeps_the_file_private(self, keys_file: Path) -> None:
        result = runner.invoke(cli, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert len(json.loads(keys_file.read_text())) == 2
        assert keys_file.stat().st_mode & 0o777 == 0o600

    def test_init_writes_a_private_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "new" / "keys.json"
        monkeypatch.setenv("PUERTA_PROOF_KEYS_FILE", str(path))
        get_settings.cache_clear()
        assert runner.invoke(cli, ["keys", "init"]).exit_code == 0
        assert path.stat().st_mode & 0o777 == 0o600


class TestWithoutKeys:
    def test_production_serve_refuses_to_start(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PUERTA_ENV", "production")
        monkeypatch.setenv("PUERTA_SECRET_KEY", "k" * 32)
        monkeypatch.setenv("PUERTA_PROOF_KEYS_FILE", str(tmp_path / "absent.json"))
        monkeypatch.delenv("PUERTA_NOW", raising=False)
        get_settings.cache_clear()
        result = runner.invoke(cli, ["serve"])
        get_settings.cache_clear()
        assert result.exit_code == 2 and "proof_keys_missing" in result.stderr

    def test_development_writes_a_key_file_on_first_use(self, tmp_path: Path) -> None:
        path = tmp_path / "dev" / "keys.json"
        ring = keys.load_ring(Settings(env="development", proof_keys_file=path), FixedClock(T0))
        assert path.exists() and path.stat().st_mode & 0o777 == 0o600
        again = keys.load_ring(Settings(env="development", proof_keys_file=path), FixedClock(T0))
        assert again.signer.kid == ring.signer.kid

    def test_an_injected_key_signs(self, tmp_path: Path) -> None:
        seed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # bytes 0..31, base64url
        settings = Settings(env="production", secret_key="s" * 32, proof_key=seed,
                            proof_keys_file=tmp_path / "absent.json")  # fmt: skip
        ring = keys.load_ring(settings, FixedClock(T0))
        assert ring.jwks()["keys"][0]["kid"] == "Vkdap1RjR0w"
