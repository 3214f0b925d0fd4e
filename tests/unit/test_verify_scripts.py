"""The verifier's scripts, read as text (no JavaScript runs here): nothing from another host,
no eval, no markup built from what a proof says, and the page and its worker agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import puerta

# The directory itself, not pages.render: these checks need none of the app.
STATIC_DIR = Path(puerta.__file__).parent / "web" / "static"
SCRIPTS = sorted(STATIC_DIR.glob("*.js"))
VERIFIER = STATIC_DIR / "verify.js"
WORKER = STATIC_DIR / "verify-sw.js"
FORMAT = STATIC_DIR / "verify-proof.js"
# An absolute or protocol-relative address in a string: "https://…", '//host/…', `//…`.
_EXTERNAL = re.compile(r"""\b(?:https?|wss?|ftp):|["'`]//[^/\s"'`]""", re.I)


def _cache_name(path: object) -> str:
    found = re.search(r'var CACHE = "([^"]+)"', STATIC_DIR.joinpath(str(path)).read_text())
    assert found, f"{path} names no cache"
    return found.group(1)


class TestTheStaticScripts:
    def test_include_the_verifier_and_its_worker(self) -> None:
        assert {VERIFIER, FORMAT, WORKER} <= set(SCRIPTS)

    @pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
    def test_name_no_other_host(self, script: object) -> None:
        text = STATIC_DIR.joinpath(str(script)).read_text(encoding="utf-8")
        assert _EXTERNAL.findall(text) == []

    def test_the_check_for_other_hosts_finds_them(self) -> None:
        for sample in ('fetch("https://cdn.example/x.js")', "src = '//cdn.example/x'", "wss:"):
            assert _EXTERNAL.search(sample), sample
        assert not _EXTERNAL.search('replace(/\\//g, "_")')

    @pytest.mark.parametrize("script", [VERIFIER, FORMAT, WORKER], ids=lambda path: path.name)
    def test_run_no_text_as_code_or_markup(self, script: object) -> None:
        text = STATIC_DIR.joinpath(str(script)).read_text(encoding="utf-8")
        for banned in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML",
                       "document.write", "importScripts"):  # fmt: skip
            assert banned not in text

    def test_the_page_and_its_worker_use_one_cache(self) -> None:
        assert _cache_name(VERIFIER) == _cache_name(WORKER)

    def test_the_worker_answers_the_documents_the_page_fetches(self) -> None:
        page, worker = VERIFIER.read_text(), WORKER.read_text()
        for document in ("/.well-known/puerta-keys.json", "/.well-known/puerta-status.json"):
            assert f'"{document}"' in page and f'"{document}"' in worker
