"""The ``puerta`` command: thin wrappers that parse, call one use case and print."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from puerta.accounts.domain import Role
from puerta.errors import DomainError

app = typer.Typer(help="puerta: appointments at U.S. ports of entry.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts and roles.", no_args_is_help=True)
ports_app = typer.Typer(help="Ports of entry and capacity plans.", no_args_is_help=True)
geofence_app = typer.Typer(help="The geofence.", no_args_is_help=True)
draw_app = typer.Typer(help="The daily draw.", no_args_is_help=True)
jobs_app = typer.Typer(help="Periodic work.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organizations whose caseworkers use puerta.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(draw_app, name="draw")
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(ports_app, name="ports")
app.add_typer(geofence_app, name="geofence")
app.add_typer(orgs_app, name="orgs")


def _fail(error: DomainError) -> typer.Exit:
    typer.echo(f"error: {error.code}: {error}", err=True)
    return typer.Exit(2)


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str, ensure_ascii=False))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    from puerta.config import get_settings
    from puerta.datakeys import require_data_keys
    from puerta.logs import configure_logging
    from puerta.proofs.keys import require_keys

    try:  # production refuses to start without a proof signing key (docs/proofs.md)
        require_keys(get_settings())
        require_data_keys(get_settings())  # nor without its data keys' KEK (docs/encryption.md)
    except DomainError as error:
        raise _fail(error) from None
    configure_logging()
    uvicorn.run(
        "puerta.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        # The client address the rate limits count: X-Forwarded-For from these peers only.
        proxy_headers=True,
        forwarded_allow_ips=get_settings().forwarded_allow_ips,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database (PUERTA_DATABASE_URL) to the latest schema."""
    from puerta.config import get_settings
    from puerta.migrate import upgrade

    try:  # in production, sealing personal data needs the KEK (docs/encryption.md)
        upgrade(get_settings().database_url, revision)
    except DomainError as error:
        raise _fail(error) from None
    typer.echo(f"database at revision {revision}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="The file to write; it must not exist.")],
) -> None:
    """Copy the database to PATH while it serves: SQLite's online backup, or pg_dump -Fc."""
    from puerta.backup import backup
    from puerta.config import get_settings

    try:
        _echo_json(dataclasses.asdict(backup(database_url=get_settings().database_url, path=path)))
    except DomainError as error:
        raise _fail(error) from None


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file made by `puerta db backup`.")],
) -> None:
    """Restore PATH into PUERTA_DATABASE_URL, which must be new and empty (docs/operations.md)."""
    from puerta.backup import restore
    from puerta.config import get_settings

    try:
        _echo_json(dataclasses.asdict(restore(database_url=get_settings().database_url, path=path)))
    except DomainError as error:
        raise _fail(error) from None


@app.command()
def demo() -> None:
    """Load demo accounts, a family group and requests; safe to run twice."""
    from puerta.demo import load_demo

    try:
        for line in load_demo():
            typer.echo(line)
    except DomainError as error:
        raise _fail(error) from None


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="E-mail or phone number.")],
    password: Annotated[str, typer.Option(help="At least 10 characters, not a common one.")],
    role: Annotated[Role, typer.Option(help="The account's role.")],
    port: Annotated[str | None, typer.Option(help="An officer's port (slug).")] = None,
    language: Annotated[str, typer.Option(help="Language of the account.")] = "es",
    organization: Annotated[
        str | None, typer.Option(help="A caseworker's organization (slug).")
    ] = None,
) -> None:
    """Create a staff account with a role."""
    from puerta.accounts.service import create_account
    from puerta.i18n import available_languages
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        view = create_account(
            uow=rt.uow(),
            clock=rt.clock,
            hasher=rt.hasher,
            username=username,
            password=password,
            language=language,
            languages=available_languages(),
            role=role,
            port=port,
            organization=organization,
        )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(dataclasses.asdict(view))


@users_app.command("role")
def users_role(
    username: Annotated[str, typer.Option(help="E-mail or phone number.")],
    role: Annotated[Role, typer.Option(help="The account's role.")],
    port: Annotated[str | None, typer.Option(help="An officer's port (slug).")] = None,
    organization: Annotated[
        str | None, typer.Option(help="A caseworker's organization (slug).")
    ] = None,
) -> None:
    """Change an account's role (recorded in the audit log)."""
    from puerta.accounts.service import set_role
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        view = set_role(
            uow=rt.uow(), clock=rt.clock, username=username, role=role, port=port,
            organization=organization,
        )  # fmt: skip
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(dataclasses.asdict(view))


@orgs_app.command("create")
def orgs_create(
    slug: Annotated[str, typer.Option(help="Lower-case letters, digits and hyphens.")],
    name: Annotated[str, typer.Option(help="The organization's name.")],
) -> None:
    """Register a shelter, legal-aid or humanitarian organization."""
    from puerta.accounts.service import create_organization
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        view = create_organization(uow=rt.uow(), clock=rt.clock, slug=slug, name=name)
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(dataclasses.asdict(view))


@orgs_app.command("list")
def orgs_list() -> None:
    """Every organization, by slug."""
    from puerta.accounts.service import list_organizations
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    _echo_json([dataclasses.asdict(view) for view in list_organizations(uow=rt.uow())])


@ports_app.command("list")
def ports_list(
    date: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
) -> None:
    """List the ports with default seats and, for a date, the planned seats."""
    from puerta.appointments.service import list_ports
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    views = list_ports(
        uow=rt.uow(),
        default_seats=rt.settings.port_seats,
        service_date=date.date() if date else None,
    )
    for view in views:
        _echo_json(dataclasses.asdict(view))


@ports_app.command("capacity")
def ports_capacity(
    slug: Annotated[str, typer.Argument(help="Port slug, e.g. san-ysidro.")],
    date: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="Service date.")],
    seats: Annotated[int, typer.Argument(help="Seats (persons) that day.")],
) -> None:
    """Plan the seats of one port on one service date."""
    from puerta.appointments.service import set_capacity
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        view = set_capacity(
            uow=rt.uow(),
            clock=rt.clock,
            slug=slug,
            service_date=date.date(),
            seats=seats,
            actor_id=None,
            horizon_days=rt.settings.capacity_horizon_days,
        )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(dataclasses.asdict(view))


@geofence_app.command("check")
def geofence_check(
    lat: Annotated[str, typer.Option(help="Latitude, -90 to 90.")],
    lon: Annotated[str, typer.Option(help="Longitude, -180 to 180.")],
    date: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    nationality: Annotated[str | None, typer.Option(help="ISO 3166 alpha-3, e.g. MEX.")] = None,
) -> None:
    """Print whether a place is inside the geofence on a date (default: today), as JSON."""
    from puerta.geo.domain import InvalidCoordinates
    from puerta.geo.service import check_location
    from puerta.runtime import cli_runtime

    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError:
        raise _fail(InvalidCoordinates()) from None
    # Today as the API means it: the clock's (PUERTA_NOW's) date in the window's zone.
    on = date.date() if date else cli_runtime().today()
    try:
        verdict = check_location(
            lat=latitude, lon=longitude, on=on, nationalities=[nationality] if nationality else []
        )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(verdict.to_dict())


WindowDate = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Window date.")]


@draw_app.command("run")
def draw_run(window: WindowDate) -> None:
    """Run the draw of a closed window (again: prints the first result)."""
    from puerta.draws.service import run_draw
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        view = run_draw(
            uow=rt.uow(), clock=rt.clock, config=rt.draw_config, window=window.date(),
            actor_id=None,
        )  # fmt: skip
    except DomainError as error:
        raise _fail(error) from None
    fields = dataclasses.asdict(view)
    fields.pop("secret")
    _echo_json(fields)


@draw_app.command("verify")
def draw_verify(window: WindowDate) -> None:
    """Re-run a draw from its stored inputs; exit 1 if anything differs."""
    from puerta.draws.service import verify_draw
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        report = verify_draw(uow=rt.uow(), schedule=rt.schedule, window=window.date())
    except DomainError as error:
        raise _fail(error) from None
    _echo_json({**dataclasses.asdict(report), "ok": report.ok})
    if not report.ok:
        raise typer.Exit(1)


@jobs_app.command("tick")
def jobs_tick() -> None:
    """Commit the open window's secret, expire overdue offers, send notifications; under the
    jobs lease: while another process holds it, do nothing and print {"ticked": false}."""
    from puerta.jobs import tick_once
    from puerta.runtime import cli_runtime

    report = tick_once(cli_runtime())
    done = {} if report is None else dataclasses.asdict(report)
    _echo_json({"ticked": report is not None, **done})


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 and name the first broken link if it is broken."""
    from puerta.audit.service import verify_chain
    from puerta.runtime import cli_runtime

    report = verify_chain(uow=cli_runtime().uow())
    _echo_json(dataclasses.asdict(report) | {"ok": report.ok})
    if not report.ok:
        raise typer.Exit(1)


shelters_app = typer.Typer(help="Shelters inside the geofence.", no_args_is_help=True)
app.add_typer(shelters_app, name="shelters")


@shelters_app.command("import")
def shelters_import(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="CSV file (docs/shelters.md).")],
    dry_run: Annotated[bool, typer.Option(help="Check every row; write nothing.")] = False,
) -> None:
    """Create or update shelters from CSV in one transaction; any bad row refuses the file."""
    from puerta.runtime import cli_runtime
    from puerta.shelters.csvimport import CsvRejected
    from puerta.shelters.service import import_shelters

    rt = cli_runtime()
    try:
        report = import_shelters(uow=rt.uow(), clock=rt.clock, data=file.read(), dry_run=dry_run)
    except CsvRejected as rejected:
        for problem in rejected.problems:
            typer.echo(f"line {problem.line}: {problem.error.code}: {problem.error}", err=True)
        raise _fail(rejected) from None
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(dataclasses.asdict(report))


from puerta.incidents.commands import incidents_app  # noqa: E402  (its own module: cli.py's size)

app.add_typer(incidents_app, name="incidents")


keys_app = typer.Typer(
    help="The keys that sign proofs (docs/proofs.md) and seal personal data (docs/encryption.md).",
    no_args_is_help=True,
)
proof_app = typer.Typer(help="Signed proofs of registration and appointment.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(proof_app, name="proof")


def _keys(action: str) -> None:
    from puerta.proofs.keys import keys_command
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        _echo_json(keys_command(action, settings=rt.settings, clock=rt.clock))
    except DomainError as error:
        raise _fail(error) from None


@keys_app.command("init")
def keys_init() -> None:
    """Write PUERTA_PROOF_KEYS_FILE (mode 0600) with a first key; never overwrites it."""
    _keys("init")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a key that signs from now; the old one stops signing but stays published."""
    _keys("rotate")


@keys_app.command("list")
def keys_list() -> None:
    """The published keys (public halves only), as /.well-known/puerta-keys.json shows them."""
    _keys("list")


def _data_keys(action: str, batch: int = 1000) -> None:
    from puerta.datakeys.rotation import data_keys_command
    from puerta.models import metadata
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        _echo_json(data_keys_command(action, settings=rt.settings, ring=rt.data_keys,
                                     metadata=metadata, clock=rt.clock, batch=batch))  # fmt: skip
    except DomainError as error:
        raise _fail(error) from None


@keys_app.command("data-init")
def keys_data_init() -> None:
    """Write PUERTA_DATA_KEY_FILE (mode 0600) with a first key-encryption key; never overwrites."""
    _data_keys("init")


@keys_app.command("data-rewrap")
def keys_data_rewrap() -> None:
    """A new key-encryption key: every data key wrapped by it, the old one dropped; no data
    changes (with PUERTA_DATA_KEY: wrapped by its first key)."""
    _data_keys("rewrap")


@keys_app.command("data-rotate")
def keys_data_rotate() -> None:
    """A new data key, which seals every new value from now (in every process within 60 s)."""
    _data_keys("rotate")


@keys_app.command("data-reencrypt")
def keys_data_reencrypt(
    batch: Annotated[int, typer.Option(help="Rows per transaction.", min=1)] = 1000,
) -> None:
    """Seal again under the current data key every value sealed under an older one."""
    _data_keys("reencrypt", batch)


@keys_app.command("data-retire")
def keys_data_retire() -> None:
    """Delete the data keys no value uses any more (the current one stays)."""
    _data_keys("retire")


@keys_app.command("data-list")
def keys_data_list() -> None:
    """The data keys: id, wrapping key's id, when made, how many values each seals."""
    _data_keys("list")


@proof_app.command("verify")
def proof_verify(
    token: Annotated[str, typer.Argument(help="The proof, PU1:...")],
    keys: Annotated[typer.FileText | None, typer.Option(help="A saved puerta-keys.json.")] = None,
    status: Annotated[typer.FileText | None, typer.Option(help="A saved status list.")] = None,
) -> None:
    """Print the outcome (valid, expired, revoked, forged, unknown_key, not_a_proof) and the
    facts as JSON; exit 0 only for valid. Without --keys/--status: this server's own."""
    from puerta.proofs import published, service
    from puerta.runtime import cli_runtime

    rt = cli_runtime()
    try:
        verdict = service.verify_token(
            uow=rt.uow(), clock=rt.clock, token=token, ring=lambda: rt.proof_keys,
            keys_text=keys.read() if keys else None, status_text=status.read() if status else None,
        )  # fmt: skip
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(published.verdict_json(verdict))
    if not verdict.valid:
        raise typer.Exit(1)
