"""The web pages against their budgets: bytes transferred per page, and time to first byte.

Run: .venv/bin/python benchmarks/pages.py [--users 20] [--rounds 5] [--workers 1]
     [--think-ms 1000] [--no-report]

The budgets (from the issue): every page at most 60 KB transferred (HTML, CSS, JS and images,
compressed), and the first byte in under 100 ms at the 95th percentile with 20 concurrent
users on this machine.

Starts a real server as a subprocess on a SQLite database in a temporary directory, with the
clock pinned and the demo data taken through a whole cycle (the 2 Sep 2024 window's requests,
its draw, the offers sent; the server's clock on 3 Sep at 12:30 Chicago time, the next window
open), plus a registrant whose group has 12 people (made through the JSON API). Logs in
through the pages (GET /login, the csrf_token, POST /login) as that registrant and as a
registrant, an officer and an admin from the demo data, then:

- transfer: each page once, cold, with ``Accept-Encoding: gzip, br`` as a browser sends it,
  counting the response bodies as they came over the wire (compressed, response headers
  excluded) of the page and of every same-origin file it makes the browser fetch: stylesheets
  (and their ``url()`` and ``@import``), icons (``/favicon.ico`` when no icon is declared),
  preloads, scripts, images and SVG sprites in ``<use href>``, each counted once per page;
- time to first byte: first one user alone (what each page costs without a queue), then
  ``--users`` simulated users (one asyncio task and one keep-alive connection each, sending
  each page with its role's cookies), each fetching every page in a shuffled order
  ``--rounds`` times after one unmeasured round, pausing ``--think-ms`` on average between
  pages (0: no pause, a saturation test written to its own section); TTFB is the time from
  sending the request to having the response headers.
  Two baselines are interleaved with the pages under the same load: a static stylesheet and
  the JSON ``GET /api/v1/windows/current``.

Prints the figures and, unless ``--no-report``, rewrites the "## Pages" section of
BENCHMARKS.md. Exits 1 when a page errs (any answer but 200) or exceeds a budget. The server
is stopped and the temporary directory removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gzip
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import jinja2
import starlette
import uvicorn

from report import REPORT, machine, python_loop_s, write_section

BUDGET_BYTES = 60 * 1024
BUDGET_TTFB_MS = 100.0
DEFAULT_USERS = 20
DEFAULT_ROUNDS = 5
# A person reads a page before opening the next: one second on average (exponential), which
# is quicker than anyone reads. With no pause at all (--think-ms 0) every user is a loop
# hammering the server, so the queue, not the page, sets the time: that figure is written to
# its own section, "Pages, saturated", as a stress measure rather than against the budget.
DEFAULT_THINK_MS = 1000.0
DEFAULT_WORKERS = 1  # `puerta serve`'s default
ALONE_ROUNDS = 5  # one user alone, for what each page costs without a queue
SEED = 20240903
COMMAND = ".venv/bin/python benchmarks/pages.py"
ACCEPT_ENCODING = "gzip, br"  # what a browser sends over plain http
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Encoding": ACCEPT_ENCODING,
    "Accept-Language": "es-MX,es;q=0.9,en;q=0.5",
    "User-Agent": "puerta-benchmark/1 (httpx)",
}

# The cycle of README's walkthrough: requests, the draw after the window closes, the offers.
REQUESTS_AT = "2024-09-02T13:00:00-05:00"
DRAW_AT = "2024-09-03T11:30:00-05:00"
SERVE_AT = "2024-09-03T12:30:00-05:00"
WINDOW = "2024-09-02"

ANONYMOUS = "anonymous"
ROLES = ("registrant", "officer", "admin")  # the first demo account of each
LARGE_FAMILY = "family of 12"  # a registrant with the largest group, made through the API
# Every GET page of docs/pages.md, with the role that sees it.
PAGES: tuple[tuple[str, str], ...] = (
    ("/", ANONYMOUS),
    ("/translations", ANONYMOUS),
    ("/login", ANONYMOUS),
    ("/register", ANONYMOUS),
    ("/status", "registrant"),
    ("/group", "registrant"),
    ("/request", "registrant"),
    ("/appointment", "registrant"),
    ("/status", LARGE_FAMILY),
    ("/group", LARGE_FAMILY),
    ("/officer", "officer"),
    ("/officer", "admin"),
    ("/admin", "admin"),
    ("/admin/capacity", "admin"),
    ("/admin/geofence", "admin"),
    ("/admin/draws", "admin"),
    ("/admin/users", "admin"),
    ("/admin/appeals", "admin"),
)
API_BASELINE = "/api/v1/windows/current"
FALLBACK_ICON = "/favicon.ico"  # what a browser asks for when a page declares no icon

LIBRARIES = (
    f"uvicorn {uvicorn.__version__}, Starlette {starlette.__version__}, "
    f"Jinja2 {jinja2.__version__}, httpx {httpx.__version__} (the load generator)"
)


class BenchmarkError(Exception):
    """The server could not be set up or logged into; the message says where it stopped."""


# --- the server -------------------------------------------------------------------------


def puerta_command() -> Path:
    """The ``puerta`` script next to this interpreter (the project's venv)."""
    return Path(sys.executable).parent / "puerta"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUERTA_")}
    env.update(
        PUERTA_ENV="development",
        PUERTA_DATABASE_URL=f"sqlite:///{database}",
        PUERTA_COOKIE_SECURE="false",
        PUERTA_SECRET_KEY=secrets.token_hex(32),
    )
    return env


def cli(env: dict[str, str], now: str | None, *args: str) -> str:
    """Run ``puerta ARGS`` with the clock pinned to ``now``; its output, or BenchmarkError."""
    run_env = env if now is None else {**env, "PUERTA_NOW": now}
    done = subprocess.run(
        [str(puerta_command()), *args], env=run_env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(
            f"`puerta {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


@dataclass(frozen=True)
class Account:
    role: str
    username: str
    password: str


def demo_accounts(output: str) -> dict[str, Account]:
    """The first account of each role in ``puerta demo``'s output (``role  user / password``)."""
    accounts: dict[str, Account] = {}
    for line in output.splitlines():
        match = re.match(r"^(\w+)\s+(\S+) / (\S+)", line)
        if match and match[1] in ROLES and match[1] not in accounts:
            accounts[match[1]] = Account(match[1], match[2], match[3])
    missing = [role for role in ROLES if role not in accounts]
    if missing:
        raise BenchmarkError(f"`puerta demo` printed no {', '.join(missing)} account:\n{output}")
    return accounts


def large_family(base: str) -> Account:
    """A registrant whose group has 12 people, every field filled: the longest /group page."""
    account = Account(LARGE_FAMILY, "familia.de.doce@example.org", "a long benchmark password")
    members = [
        {
            "given_names": f"María Guadalupe {n}",
            "family_names": "Hernández Castillo de la Cruz",
            "birth_date": f"{1960 + 5 * n}-0{1 + n % 9}-1{n % 10}",
            "nationality": "GTM",
            "languages": ["es", "quc"],
            "id_document": f"GTM-{n:010d}",
        }
        for n in range(12)
    ]
    with httpx.Client(base_url=base + "/api/v1", timeout=30) as api:
        login = {"username": account.username, "password": account.password}
        expect(api.post("/accounts", json={**login, "language": "es"}), 201, "POST /accounts")
        token = api.post("/auth/token", data=login)
        expect(token, 200, "POST /auth/token")
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        group = api.put("/me/group", json={"members": members}, headers=bearer)
        expect(group, 200, "PUT /me/group")
    return account


def expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise BenchmarkError(f"{what} answered {response.status_code}: {response.text[:500]}")


def prepare(env: dict[str, str]) -> dict[str, Account]:
    """Migrate, load the demo, draw the 2 Sep window and send its offers; the demo accounts."""
    cli(env, None, "db", "upgrade")
    accounts = demo_accounts(cli(env, REQUESTS_AT, "demo"))
    cli(env, DRAW_AT, "draw", "run", "--window", WINDOW)
    cli(env, DRAW_AT, "jobs", "tick")
    return accounts


@contextlib.contextmanager
def server(env: dict[str, str], log: Path, workers: int) -> Iterator[str]:
    """``puerta serve`` on a free port, its clock on SERVE_AT; yields the base URL."""
    port = free_port()
    command = [str(puerta_command()), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers != 1:
        command += ["--workers", str(workers)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            env={**env, "PUERTA_NOW": SERVE_AT},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, process, log)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"the server exited {process.returncode}:\n{tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + API_BASELINE, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchmarkError(f"the server did not answer {API_BASELINE} within 60 s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


# --- HTML and CSS -----------------------------------------------------------------------


class PageParser(HTMLParser):
    """The files a browser fetches for a page, and the csrf_token of each form."""

    FETCHED_RELS = {
        "stylesheet",
        "icon",
        "apple-touch-icon",
        "preload",
        "modulepreload",
        "manifest",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self.icon = False
        self.form_action: str | None = None
        self.csrf: dict[str | None, str] = {}  # form action -> its csrf_token
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & self.FETCHED_RELS and a.get("href"):
                self.refs.append(a["href"])
                self.icon = self.icon or "icon" in rels
        elif tag in ("script", "img", "source", "audio", "video", "iframe") and a.get("src"):
            self.refs.append(a["src"])
        elif tag in ("use", "image"):
            href = a.get("href") or a.get("xlink:href", "")
            if href and not href.startswith("#"):
                self.refs.append(href)
        elif tag == "form":
            self.form_action = a.get("action")
        elif tag == "input" and a.get("name") == "csrf_token":
            self.csrf.setdefault(self.form_action, a.get("value", ""))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.styles.append(a["style"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form_action = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+?)\1\s*\)|@import\s+(['"])(.+?)\3""")


def css_refs(css: str) -> list[str]:
    """The files a stylesheet can make the browser fetch (fonts and images only when used)."""
    return [m[2] or m[4] for m in CSS_URL.finditer(css)]


# --- transfer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    url: str  # path and query, same origin
    status: int
    encoding: str  # Content-Encoding, "identity" when none
    wire_bytes: int  # the body as transferred
    header_bytes: int  # the response's status line and headers
    plain_bytes: int  # the body decoded
    content_type: str
    cache_control: str
    location: str
    text: str  # decoded, for HTML and CSS only


def header_size(response: httpx.Response) -> int:
    status_line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    fields = sum(len(name) + len(value) + 4 for name, value in response.headers.raw)
    return len(status_line) + fields + 2


def decode(raw: bytes, encoding: str) -> bytes | None:
    """The body decoded, or None for an encoding this interpreter cannot read (br)."""
    if encoding in ("identity", ""):
        return raw
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    return None


def fetch(client: httpx.Client, url: str) -> Fetched:
    """GET as a browser would; the body's size on the wire, and its text for HTML and CSS."""
    with client.stream("GET", url, headers=BROWSER_HEADERS) as response:
        raw = b"".join(response.iter_raw())
    encoding = response.headers.get("content-encoding", "identity").lower()
    plain = decode(raw, encoding)
    if plain is None:  # read it again, uncompressed, only to see what is in it
        plain = client.get(url, headers={**BROWSER_HEADERS, "Accept-Encoding": "identity"}).content
    content_type = response.headers.get("content-type", "")
    textual = any(kind in content_type for kind in ("html", "css"))
    return Fetched(
        url=url,
        status=response.status_code,
        encoding=encoding,
        wire_bytes=len(raw),
        header_bytes=header_size(response),
        plain_bytes=len(plain),
        content_type=content_type.split(";")[0],
        cache_control=response.headers.get("cache-control", ""),
        location=response.headers.get("location", ""),
        text=plain.decode("utf-8", errors="replace") if textual else "",
    )


def same_origin(base: str, page_url: str, ref: str) -> str | None:
    """``ref`` as a path on the server, or None for another host or a data: URL."""
    absolute = urljoin(base + page_url, ref)
    parts = urlsplit(absolute)
    if parts.scheme == "data" or f"{parts.scheme}://{parts.netloc}" != base:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Transfer:
    path: str
    role: str
    page: Fetched
    files: list[Fetched] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # references to other hosts

    @property
    def label(self) -> str:
        return f"{self.path} ({self.role})"

    @property
    def total_bytes(self) -> int:
        return self.page.wire_bytes + sum(f.wire_bytes for f in self.files)

    @property
    def errors(self) -> list[str]:
        problems = []
        if self.page.status != 200:
            where = f" to {self.page.location}" if self.page.location else ""
            problems.append(f"{self.label} answered {self.page.status}{where}")
        for f in self.files:
            if f.status != 200 and f.url != FALLBACK_ICON:
                problems.append(f"{self.label}: {f.url} answered {f.status}")
        problems += [f"{self.label} loads {ref} from another host" for ref in self.foreign]
        return problems


class Files:
    """Each static file fetched once for the whole run (every page counts it, cold)."""

    def __init__(self, client: httpx.Client, base: str) -> None:
        self.client, self.base = client, base
        self.seen: dict[str, Fetched] = {}

    def get(self, url: str) -> Fetched:
        if url not in self.seen:
            self.seen[url] = fetch(self.client, url)
        return self.seen[url]

    def closure(self, page_url: str, refs: list[str], transfer: Transfer) -> None:
        """Fetch ``refs`` and what stylesheets pull in; add each file once to ``transfer``."""
        queue = [(page_url, ref) for ref in refs]
        while queue:
            referrer, ref = queue.pop(0)
            url = same_origin(self.base, referrer, ref)
            if url is None:
                if not ref.startswith("data:"):
                    transfer.foreign.append(ref)
                continue
            url = url.split("#", 1)[0]
            if any(f.url == url for f in transfer.files):
                continue
            fetched = self.get(url)
            transfer.files.append(fetched)
            if fetched.content_type == "text/css":
                queue += [(url, r) for r in css_refs(fetched.text)]


def measure_transfer(clients: dict[str, httpx.Client], base: str) -> list[Transfer]:
    files = Files(clients[ANONYMOUS], base)
    transfers = []
    for path, role in PAGES:
        transfer = Transfer(path, role, fetch(clients[role], path))
        if transfer.page.status == 200 and "html" in transfer.page.content_type:
            parsed = parse(transfer.page.text)
            refs = parsed.refs + [r for style in parsed.styles for r in css_refs(style)]
            if not parsed.icon:
                refs.append(FALLBACK_ICON)
            files.closure(path, refs, transfer)
        transfers.append(transfer)
    return transfers


# --- logging in -------------------------------------------------------------------------


def csrf_token(html: str, action: str) -> str:
    tokens = parse(html).csrf
    token = tokens.get(action) or next(iter(tokens.values()), "")
    if not token:
        raise BenchmarkError(f"no csrf_token input on {action}")
    return token


def login(base: str, account: Account) -> httpx.Client:
    """A client holding the account's session cookie, logged in through the login page."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/login")
    if page.status_code != 200:
        raise BenchmarkError(f"GET /login answered {page.status_code}")
    if "puerta_csrf" not in client.cookies:
        raise BenchmarkError("GET /login set no puerta_csrf cookie")
    form = {
        "username": account.username,
        "password": account.password,
        "csrf_token": csrf_token(page.text, "/login"),
    }
    answer = client.post("/login", data=form, headers={"Origin": base})
    if answer.status_code not in (302, 303) or "puerta_session" not in client.cookies:
        raise BenchmarkError(
            f"logging in as {account.role} {account.username} answered {answer.status_code}"
            f" ({answer.headers.get('location', 'no redirect')}), "
            f"{'with' if 'puerta_session' in client.cookies else 'without'} a puerta_session"
        )
    return client


# --- time to first byte -----------------------------------------------------------------


@dataclass
class Load:
    samples: dict[str, list[float]] = field(default_factory=dict)  # label -> TTFB in ms
    failures: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(map(len, self.samples.values())) + sum(map(len, self.failures.values()))


@dataclass(frozen=True)
class Target:
    label: str
    url: str
    role: str


def targets(transfers: list[Transfer]) -> list[Target]:
    pages = [Target(t.label, t.path, t.role) for t in transfers]
    styles = [f.url for t in transfers for f in t.files if f.content_type == "text/css"]
    baselines = [Target(f"baseline: {API_BASELINE} (JSON)", API_BASELINE, ANONYMOUS)]
    if styles:
        baselines.insert(0, Target(f"baseline: {styles[0]} (static)", styles[0], ANONYMOUS))
    return baselines + pages


async def one_request(
    client: httpx.AsyncClient, target: Target, cookie: str, load: Load | None
) -> None:
    headers = {**BROWSER_HEADERS, "Cookie": cookie} if cookie else BROWSER_HEADERS
    start = time.perf_counter()
    try:
        async with client.stream("GET", target.url, headers=headers) as response:
            first_byte = time.perf_counter()
            async for _ in response.aiter_raw():
                pass
    except httpx.HTTPError as error:
        if load is not None:
            load.failures.setdefault(target.label, []).append(type(error).__name__)
        return
    finally:
        client.cookies.clear()  # each request carries its role's cookies, nothing else
    if load is None:
        return
    if response.status_code == 200:
        load.samples.setdefault(target.label, []).append((first_byte - start) * 1000)
    else:
        load.failures.setdefault(target.label, []).append(str(response.status_code))


@dataclass(frozen=True)
class Plan:
    base: str
    targets: list[Target]
    cookies: dict[str, str]  # role -> its Cookie header
    rounds: int
    think_ms: float


async def user(number: int, plan: Plan, load: Load) -> None:
    """One simulated user, one keep-alive connection: a warm-up round, then ``plan.rounds``
    rounds of every target in a shuffled order, pausing ``think_ms`` on average in between."""
    rng = random.Random(SEED + number)
    async with httpx.AsyncClient(base_url=plan.base, timeout=30) as client:
        for round_number in range(plan.rounds + 1):
            order = plan.targets[:]
            rng.shuffle(order)
            for target in order:
                measured = load if round_number else None
                await one_request(client, target, plan.cookies[target.role], measured)
                if plan.think_ms:
                    await asyncio.sleep(rng.expovariate(1000 / plan.think_ms))


def run_load(plan: Plan, users: int) -> Load:
    async def all_users() -> Load:
        load = Load()
        start = time.perf_counter()
        await asyncio.gather(*(user(n, plan, load) for n in range(users)))
        load.seconds = time.perf_counter() - start
        return load

    return asyncio.run(all_users())


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies.jar)


# --- the run and its report -------------------------------------------------------------


@dataclass
class Results:
    users: int
    rounds: int
    workers: int
    think_ms: float
    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: list[Transfer] = field(default_factory=list)
    plan: list[Target] = field(default_factory=list)
    load: Load = field(default_factory=Load)
    alone: Load = field(default_factory=Load)  # one user: the pages' own time, no queue
    load_average: tuple[float, float] = (0.0, 0.0)
    loop_s: list[float] = field(default_factory=list)


def run(users: int, rounds: int, workers: int, think_ms: float) -> Results:
    results = Results(users=users, rounds=rounds, workers=workers, think_ms=think_ms)
    load_start = os.getloadavg()[0]
    results.loop_s.append(python_loop_s())
    with tempfile.TemporaryDirectory(prefix="puerta-pages-bench-") as tmp:
        env = server_env(Path(tmp) / "pages.db")
        print(f"preparing the demo cycle in {tmp} ...", flush=True)
        results.accounts = prepare(env)
        with server(env, Path(tmp) / "server.log", workers) as base:
            print(f"serving at {base}; logging in ...", flush=True)
            clients = {ANONYMOUS: httpx.Client(base_url=base, follow_redirects=False, timeout=30)}
            try:
                results.accounts[LARGE_FAMILY] = large_family(base)
                for role in (*ROLES, LARGE_FAMILY):
                    clients[role] = login(base, results.accounts[role])
                print("measuring the transfer of each page ...", flush=True)
                results.transfers = measure_transfer(clients, base)
                cookies = {role: cookie_header(client) for role, client in clients.items()}
            finally:
                for client in clients.values():
                    client.close()
            results.plan = targets(results.transfers)
            print(f"one user x {ALONE_ROUNDS} rounds x {len(results.plan)} URLs ...", flush=True)
            results.alone = run_load(Plan(base, results.plan, cookies, ALONE_ROUNDS, 0), 1)
            print(
                f"{users} users x {rounds} rounds x {len(results.plan)} URLs "
                "(after a warm-up round) ...",
                flush=True,
            )
            results.load = run_load(Plan(base, results.plan, cookies, rounds, think_ms), users)
    results.load_average = (load_start, os.getloadavg()[0])
    results.loop_s.append(python_loop_s())
    return results


def kb(n: int) -> str:
    return f"{n / 1024:,.1f}"


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def transfer_rows(transfers: list[Transfer]) -> list[str]:
    rows = []
    for t in transfers:
        if t.page.status != 200:
            where = f" → {t.page.location}" if t.page.location else ""
            rows.append(f"| {t.label} | {t.page.status}{where} | | | | | | ERROR |")
            continue
        within = t.total_bytes <= BUDGET_BYTES
        rows.append(
            f"| {t.label} | {t.page.status} | {kb(t.page.plain_bytes)} | "
            f"{kb(t.page.wire_bytes)} ({t.page.encoding}) | {len(t.files)} | "
            f"{kb(t.total_bytes - t.page.wire_bytes)} | {kb(t.total_bytes)} | "
            f"{'pass' if within else 'FAIL'} |"
        )
    return rows


def file_rows(transfers: list[Transfer]) -> list[str]:
    files: dict[str, Fetched] = {}
    for t in transfers:
        files.update((f.url, f) for f in t.files)
    return [
        f"| `{f.url}` | {f.status} | {f.content_type} | {kb(f.plain_bytes)} | "
        f"{kb(f.wire_bytes)} ({f.encoding}) | {f.cache_control or '(none)'} |"
        for f in sorted(files.values(), key=lambda f: f.url)
    ]


def header_line(transfers: list[Transfer]) -> str:
    ok = [t for t in transfers if t.page.status == 200]
    if not ok:
        return "No page answered 200."
    heaviest = max(ok, key=lambda t: t.total_bytes + t.page.header_bytes)
    with_headers = heaviest.total_bytes + heaviest.page.header_bytes
    with_headers += sum(f.header_bytes for f in heaviest.files)
    return (
        f"Response headers are not counted above; with them the heaviest page, "
        f"{heaviest.label}, comes to {kb(with_headers)} KB "
        f"({kb(heaviest.page.header_bytes)} KB of them the page's own)."
    )


@dataclass(frozen=True)
class Baselines:
    static_p95: float  # 0 when no stylesheet was found
    api_p95: float


def ttfb_row(label: str, ms: list[float], alone: list[float], base: Baselines, page: bool) -> str:
    p95 = percentile(ms, 95)
    mark = ("pass" if p95 < BUDGET_TTFB_MS else "FAIL") if page else ""
    static = f"{p95 / base.static_p95:.1f}" if base.static_p95 else ""
    alone_p50 = f"{percentile(alone, 50):.1f}" if alone else ""
    return (
        f"| {label} | {len(ms):,} | {alone_p50} | {percentile(ms, 50):.1f} | {p95:.1f} | "
        f"{max(ms):.1f} | {static} | {p95 / base.api_p95:.1f} | {mark} |"
    )


def ttfb_rows(r: Results) -> list[str]:
    samples, alone = r.load.samples, r.alone.samples
    static = next((t.label for t in r.plan if t.label.endswith("(static)")), "")
    api = f"baseline: {API_BASELINE} (JSON)"
    if api not in samples:
        return ["| (the API baseline failed every time) | | | | | | | | |"]
    base = Baselines(
        percentile(samples[static], 95) if static in samples else 0.0,
        percentile(samples[api], 95),
    )
    pages = {t.label for t in r.transfers}
    rows = []
    for target in r.plan:
        label = target.label
        if label in samples:
            rows.append(ttfb_row(label, samples[label], alone.get(label, []), base, label in pages))
        else:
            rows.append(f"| {label} | 0 | | | | | | | ERROR |")
    every = [ms for label in pages for ms in samples.get(label, [])]
    every_alone = [ms for label in pages for ms in alone.get(label, [])]
    if every:
        rows.append(ttfb_row("**all pages**", every, every_alone, base, True))
    return rows


def failures(r: Results) -> list[str]:
    """Every budget exceeded and every error, one line each."""
    lines = [problem for t in r.transfers for problem in t.errors]
    for t in r.transfers:
        if t.page.status == 200 and t.total_bytes > BUDGET_BYTES:
            lines.append(
                f"{t.label}: {kb(t.total_bytes)} KB transferred, over the "
                f"{BUDGET_BYTES // 1024} KB budget"
            )
        ms = r.load.samples.get(t.label, [])
        if ms and percentile(ms, 95) >= BUDGET_TTFB_MS:
            lines.append(
                f"{t.label}: time to first byte {percentile(ms, 95):.1f} ms at the 95th "
                f"percentile, over the {BUDGET_TTFB_MS:g} ms budget"
            )
    for when, load in (("alone", r.alone), ("under load", r.load)):
        for label, errors in load.failures.items():
            counts = {e: errors.count(e) for e in sorted(set(errors))}
            shown = ", ".join(f"{n}x {e}" for e, n in counts.items())
            lines.append(f"{label}: {when}, {len(errors)} failed requests ({shown})")
    return lines


def workers(n: int) -> str:
    return "one uvicorn process, the default" if n == 1 else f"`--workers {n}`"


def setup_line(r: Results) -> str:
    who = ", ".join(f"{a.role} `{a.username}`" for a in r.accounts.values())
    return (
        f"Server: `puerta serve` ({workers(r.workers)}) on a SQLite database in a "
        "temporary directory, `PUERTA_ENV=development`, `PUERTA_COOKIE_SECURE=false`. Data: "
        f"`puerta demo` with the clock at {REQUESTS_AT}, the draw of the {WINDOW} window and "
        f"`puerta jobs tick` (the offers) at {DRAW_AT}, the server's clock at {SERVE_AT} (the "
        f"next window open); then, through the API, a registrant whose group has 12 people "
        "with every field filled (the longest family pages). Logged in through `/login` as "
        f"{who}; public pages without a session, with `Accept-Language: "
        f"{BROWSER_HEADERS['Accept-Language']}`."
    )


def load_line(r: Results) -> str:
    rate = r.load.requests / r.load.seconds
    pause = (
        f"pausing {r.think_ms:g} ms on average (exponentially distributed) after each answer"
        if r.think_ms
        else "with no pause between an answer and the next request"
    )
    queue = (
        f" With no pause, {r.users} requests are always in flight, so at that rate each waits "
        f"{r.users / rate * 1000:,.0f} ms on average (Little's law), whatever the page."
        if not r.think_ms
        else ""
    )
    return (
        f"{r.users} simulated users (asyncio tasks in one process, one keep-alive connection "
        "each, sending each page with its role's cookies), each fetching every URL below in "
        f"a shuffled order {pause}, {r.rounds} rounds after one unmeasured round: "
        f"{r.load.requests:,} requests in {r.load.seconds:.1f} s ({rate:,.0f} a second).{queue} "
        "TTFB = from sending the request to having the response headers (httpx `stream()`), "
        'in ms. "alone" = the median of one user fetching the same URLs '
        f"{ALONE_ROUNDS} rounds before the load: what the page itself costs. The load "
        f"generator and the server share the machine's {os.cpu_count()} cores."
    )


def speed_line(r: Results) -> str:
    cores = os.cpu_count() or 1
    busy = (
        f" The machine was busy with other work (load average above its {cores} cores): the "
        "milliseconds are inflated by it."
        if r.load_average[0] > cores
        else ""
    )
    loops = " and ".join(f"{s:.2f} s" for s in r.loop_s)
    return (
        f"Load average {r.load_average[0]:.2f} before the run ({r.load_average[1]:.2f} after "
        f"it, the run's own load included); ten million additions in a Python loop took "
        f"{loops} before and after (the Draw section records the same loop).{busy} The "
        "ratios are p95 / the baselines' p95, measured under the same load; they travel "
        "better than the milliseconds."
    )


def queue_line(r: Results) -> str:
    """What the static file's times say about the pages' (it does no work of its own)."""
    static = next((t.label for t in r.plan if t.label.endswith("(static)")), "")
    pages = [r.load.samples[t.label] for t in r.transfers if t.label in r.load.samples]
    if static not in r.load.samples or not pages or static not in r.alone.samples:
        return ""
    p95 = percentile(r.load.samples[static], 95)
    ratios = [percentile(ms, 95) / p95 for ms in pages]
    verdict = (
        ": the queue in front of the server, not the pages' own work, is what exceeds the "
        f"{BUDGET_TTFB_MS:g} ms budget."
        if p95 >= BUDGET_TTFB_MS
        else "."
    )
    return (
        f"The static stylesheet takes {percentile(r.alone.samples[static], 50):.1f} ms alone "
        f"and {p95:.1f} ms at the 95th percentile under this load; the pages' p95 are "
        f"{min(ratios):.1f} to {max(ratios):.1f} times its{verdict}"
    )


def heading(think_ms: float) -> str:
    return "Pages" if think_ms else "Pages, saturated"


def render(r: Results) -> str:
    """The "## Pages" section of BENCHMARKS.md ("## Pages, saturated" without pauses)."""
    options = "".join(
        f" --{name} {value}"
        for name, value, default in (("users", r.users, DEFAULT_USERS),
                                     ("rounds", r.rounds, DEFAULT_ROUNDS),
                                     ("workers", r.workers, DEFAULT_WORKERS),
                                     ("think-ms", f"{r.think_ms:g}", f"{DEFAULT_THINK_MS:g}"))
        if value != default
    )  # fmt: skip
    problems = failures(r)
    verdict = (
        "**Every page within the budgets.**"
        if not problems
        else "**Over budget or in error:**\n\n" + "\n".join(f"- {p}" for p in problems)
    )
    return "\n".join(
        [
            f"## {heading(r.think_ms)}",
            "",
            f"Measured {dt.date.today().isoformat()} on {machine(LIBRARIES)}.",
            "",
            f"Command: `{COMMAND}{options}`",
            "",
            f"Budgets: at most {BUDGET_BYTES // 1024} KB ({BUDGET_BYTES:,} bytes) transferred "
            f"per page, and the first byte in under {BUDGET_TTFB_MS:g} ms at the 95th "
            f"percentile with {DEFAULT_USERS} concurrent users.",
            "",
            setup_line(r),
            "",
            verdict,
            "",
            "### Transferred",
            "",
            f"Each page once, cold (nothing cached), `Accept-Encoding: {ACCEPT_ENCODING}`. "
            "Bytes are response bodies as they came over the wire (compressed when the server "
            "compressed them), response headers excluded; \"files\" are the same-origin files "
            "the page makes a browser fetch (stylesheets and what their `url()`/`@import` name, "
            f"icons, or `{FALLBACK_ICON}` when none is declared, preloads, scripts, images, SVG "
            "sprites), each counted once. KB = 1,024 bytes.",
            "",
            "| page (role) | status | HTML (KB, decoded) | HTML (KB, transferred) | files | "
            "files (KB, transferred) | total (KB) | ≤ 60 KB |",
            "|---|---|---:|---:|---:|---:|---:|---|",
            *transfer_rows(r.transfers),
            "",
            header_line(r.transfers),
            "",
            "The files:",
            "",
            "| file | status | type | KB decoded | KB transferred | Cache-Control |",
            "|---|---|---|---:|---:|---|",
            *file_rows(r.transfers),
            "",
            "### Time to first byte",
            "",
            load_line(r),
            "",
            speed_line(r),
            "",
            "| URL | samples | alone: p50 | p50 | p95 | max | p95 ÷ static | p95 ÷ API "
            "| p95 < 100 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            *ttfb_rows(r),
            "",
            *([queue_line(r), ""] if queue_line(r) else []),
        ]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="concurrent users")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds per user")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="`puerta serve --workers`"
    )
    parser.add_argument(
        "--think-ms", type=float, default=DEFAULT_THINK_MS,
        help="each user's mean pause between requests (exponential); 0: none, saturating",
    )  # fmt: skip
    parser.add_argument("--no-report", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    try:
        results = run(args.users, args.rounds, args.workers, args.think_ms)
    except BenchmarkError as error:
        sys.exit(f"pages benchmark: {error}")
    section = render(results)
    print(section)
    if not args.no_report:
        write_section(heading(args.think_ms), section)
        print(f"(wrote the {heading(args.think_ms)} section of {REPORT})")
    problems = failures(results)
    if problems:
        print(f"{len(problems)} budget(s) exceeded or error(s):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
