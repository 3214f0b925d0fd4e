"""``puerta incidents keys init|rotate``: the triage team's key file (docs/incidents.md).

Thin: it asks for the passphrase twice, hidden (or reads PUERTA_INCIDENTS_PASSPHRASE, which
is for tests and CI only and refused in production), and calls puerta.incidents.keys. The
passphrase is never printed, logged or written anywhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

incidents_app = typer.Typer(help="Incident reports (docs/incidents.md).", no_args_is_help=True)
keys_app = typer.Typer(help="The triage team's key file.", no_args_is_help=True)
incidents_app.add_typer(keys_app, name="keys")
FileOption = Annotated[
    Path | None, typer.Option("--file", help="Key file (default: PUERTA_INCIDENTS_KEY_FILE).")
]


def _passphrase(configured: str | None) -> str:
    if configured is not None:
        return configured
    return str(typer.prompt("Passphrase of the new key", hide_input=True, confirmation_prompt=True))


def _run(action: str, file: Path | None, fast: bool) -> None:
    from puerta.config import get_settings
    from puerta.errors import DomainError
    from puerta.incidents import keys

    settings = get_settings()
    path = file or settings.incidents_key_file
    if action == "init" and path.exists():
        typer.echo(f"error: {keys.KeyFileExists.code}: {keys.KeyFileExists.message}", err=True)
        raise typer.Exit(2)
    passphrase = _passphrase(settings.incidents_passphrase)
    strength = keys.Strength.MINIMAL if fast else keys.Strength.MODERATE
    make = keys.create_key_file if action == "init" else keys.rotate_key_file
    try:
        kid = make(path, passphrase, now=dt.datetime.now(dt.UTC), strength=strength)
    except DomainError as error:
        typer.echo(f"error: {error.code}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{action}: key {kid} in {path}")


FastOption = Annotated[
    bool, typer.Option("--fast", help="Cheap Argon2id, for tests and demos only.", hidden=True)
]


@keys_app.command("init")
def keys_init(file: FileOption = None, fast: FastOption = False) -> None:
    """Create the key file with a first key pair; the private key is kept only encrypted."""
    _run("init", file, fast)


@keys_app.command("rotate")
def keys_rotate(file: FileOption = None, fast: FastOption = False) -> None:
    """Add a key pair for new reports; old reports stay sealed to their old keys."""
    _run("rotate", file, fast)
