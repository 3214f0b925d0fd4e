"""Shared pieces of the incident tests: a team key file made cheaply, and a sample report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from puerta.incidents import keys
from puerta.incidents.service import NewReport

PASSPHRASE = "the team's long passphrase"
SECRET_TEXT = "They took us off the bus near Tapachula <script>alert('x')</script> ZQX-SECRET-TEXT"
SECRET_CONTACT = "ZQX-CONTACT +52 962 000 0000"
SECRET_FOLLOW_UP = "ZQX-FOLLOW-UP they came back"
SECRET_NOTE = "ZQX-NOTE called legal aid"
SECRET_MESSAGE = "ZQX-MESSAGE we are working on it"
MARKERS = ("ZQX-", "Tapachula <script>", "alert(")


def key_file(folder: Path, passphrase: str = PASSPHRASE) -> Path:
    path = folder / "incidents-keys.json"
    keys.create_key_file(
        path, passphrase, now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), strength=keys.Strength.MINIMAL
    )
    return path


def report(**overrides: Any) -> NewReport:
    fields: dict[str, Any] = {
        "incident_type": "extortion", "perpetrator": "police", "state": "MX-CHP",
        "municipality": "07089", "month": "2024-04", "day": 12, "text": SECRET_TEXT,
        "contact": SECRET_CONTACT,
    }  # fmt: skip
    return NewReport(**(fields | overrides))


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "incident_type": "extortion", "perpetrator": "police", "state": "MX-CHP",
        "municipality": "07089", "month": "2024-04", "day": 12, "text": SECRET_TEXT,
        "contact": SECRET_CONTACT,
    } | overrides  # fmt: skip
