"""The README's walk-throughs, run as written, in order, on fresh databases.

Every ```sh block in README.md is marked by an HTML comment just before it:

- ``<!-- readme-test: walk NAME -->`` starts a walk-through (a fresh directory, a fresh shell);
- ``<!-- readme-test: run -->``: the next block runs in the walk's shell, as one script with
  the walk's other blocks, so variables carry over as they do in a reader's terminal;
- ``<!-- readme-test: serve -->``: the same, except that the block's last line (a
  ``puerta serve``) is started in the background and waited for, as a reader runs it in a
  terminal of its own;
- ``<!-- readme-test: stop -->`` (not before a block): stop that server, as the README says;
- ``<!-- readme-test: skip: REASON -->``: the next block is not run.

Each walk-through runs with bash (``set -euo pipefail``) in a temporary directory holding
only a link to this virtualenv, without the caller's ``PUERTA_*`` settings, and with ``PORT``
and ``API`` pointing at a free port, which the README's blocks use in place of 8000.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV = Path(sys.prefix)
TIMEOUT_SECONDS = 180
# Marks and blocks start lines; a mark quoted inside a sentence is not one.
_TOKENS = re.compile(
    r"^<!-- readme-test: (?P<mark>[^\n]*?) -->$|^```sh\n(?P<code>.*?)^```", re.S | re.M
)

pytestmark = pytest.mark.xdist_group("readme")


@dataclass
class Walk:
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)  # (run|serve|stop, code)


@dataclass
class Parsed:
    walks: list[Walk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _block(parsed: Parsed, pending: str | None, code: str) -> None:
    first = code.strip().splitlines()[0] if code.strip() else ""
    if pending is None:
        parsed.problems.append(f"a ```sh block has no readme-test mark: {first!r}")
    elif pending in ("run", "serve"):
        if not parsed.walks:
            parsed.problems.append(f"a block to {pending} is outside any walk: {first!r}")
        else:
            parsed.walks[-1].steps.append((pending, code))


def _mark(parsed: Parsed, pending: str | None, mark: str) -> str | None:
    """Apply one mark; returns what the next block is to do."""
    if pending is not None:
        parsed.problems.append(f"mark {pending!r} is not followed by a ```sh block")
    if mark.startswith("walk "):
        parsed.walks.append(Walk(mark.split()[1]))
    elif mark == "stop" and parsed.walks:
        parsed.walks[-1].steps.append(("stop", ""))
    elif mark in ("run", "serve") or mark.startswith("skip: "):
        return mark.split(":")[0]
    else:
        parsed.problems.append(f"unknown or misplaced readme-test mark: {mark!r}")
    return None


def parse(text: str) -> Parsed:
    """The walk-throughs of a README, and whatever in its marks does not add up."""
    parsed = Parsed()
    pending: str | None = None
    for token in _TOKENS.finditer(text):
        if token["mark"] is not None:
            pending = _mark(parsed, pending, token["mark"].strip())
        else:
            _block(parsed, pending, token["code"])
            pending = None
    for walk in parsed.walks:
        parsed.problems += [f"{walk.name}: {p}" for p in _walk_problems(walk)]
    return parsed


def _walk_problems(walk: Walk) -> list[str]:
    problems: list[str] = []
    serving = False
    for kind, code in walk.steps:
        if kind == "serve":
            problems += [] if not serving else ["starts a server while one is still serving"]
            problems += _serve_problems(code)
        elif kind == "stop":
            problems += [] if serving else ["stops a server that is not serving"]
        serving = kind == "serve" or (serving and kind == "run")
    if serving:
        problems.append("ends without saying to stop its server")
    first = walk.steps[0][1] if walk.steps else ""
    if "export PUERTA_DATABASE_URL=" not in first or "var/puerta.db" in first:
        problems.append("does not start by choosing a database of its own")
    return problems


def _serve_problems(code: str) -> list[str]:
    last = code.strip().splitlines()[-1]
    if "puerta serve" not in last or "#" in last:
        return [f"a serve block must end with a `puerta serve` line, no comment: {last!r}"]
    if '"${PORT:-8000}"' not in last:
        return [f'a server must listen on --port "${{PORT:-8000}}": {last!r}']
    return []


PRELUDE = r"""
set -euo pipefail
readme_server=
readme_stop() {
  if [ -n "$readme_server" ]; then
    kill "$readme_server" 2>/dev/null || true
    wait "$readme_server" 2>/dev/null || true
    readme_server=
  fi
}
readme_wait() {
  for _ in $(seq 300); do
    if curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/ports"; then return 0; fi
    kill -0 "$readme_server" 2>/dev/null || { echo "readme-test: the server exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "readme-test: the server did not answer on port $PORT" >&2
  exit 1
}
trap readme_stop EXIT
set -x
"""


def script(walk: Walk) -> str:
    """One bash script for the walk: its blocks in order, servers in the background."""
    parts = [PRELUDE]
    for kind, code in walk.steps:
        if kind == "run":
            parts.append(code)
        elif kind == "serve":
            *before, server = code.strip().splitlines()
            parts += [*before, f"{server} &", "readme_server=$!", "readme_wait"]
        else:
            parts.append("readme_stop")
    return "\n".join(parts) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def walk_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUERTA_")}
    port = free_port()
    loopback = "127.0.0.1,localhost"
    return env | {
        "PORT": str(port),
        "API": f"http://127.0.0.1:{port}/api/v1",
        "NO_PROXY": loopback,
        "no_proxy": loopback,
    }


def run_walk(walk: Walk, directory: Path) -> tuple[int, str]:
    """Run the walk in ``directory`` (which gets a link to the virtualenv): exit status, output."""
    (directory / ".venv").symlink_to(VENV, target_is_directory=True)
    bash = subprocess.Popen(
        ["bash", "-c", script(walk)],
        cwd=directory,
        env=walk_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = bash.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(bash.pid, signal.SIGKILL)
        output, _ = bash.communicate()
        return -1, output + f"\nreadme-test: timed out after {TIMEOUT_SECONDS} s"
    finally:
        try:
            os.killpg(bash.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
    return bash.returncode, output


PARSED = parse(README.read_text(encoding="utf-8"))


class TestTheReadmeMarks:
    def test_mark_every_shell_block_and_add_up(self) -> None:
        assert PARSED.problems == []

    def test_hold_the_api_tour_the_pinned_cycle_and_the_browser_cycle(self) -> None:
        assert {"api", "cycle", "browser"} <= {walk.name for walk in PARSED.walks}

    def test_make_every_curl_stop_on_an_http_error(self) -> None:
        for walk in PARSED.walks:
            for _, code in walk.steps:
                for first_argument in re.findall(r"\bcurl\s+(\S+)", code):
                    assert re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", first_argument), code

    def test_point_at_no_file_outside_the_repository(self) -> None:
        assert "../" not in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("walk", PARSED.walks, ids=lambda walk: walk.name)
def test_the_readme_walk_through_runs_as_written(walk: Walk, tmp_path: Path) -> None:
    assert (VENV / "bin" / "puerta").exists(), "run the tests from the project's virtualenv"
    status, output = run_walk(walk, tmp_path)
    assert status == 0, output[-8000:]
