"""Logging set-up: one line per event, no personal data (paths only, never bodies or queries)."""

from __future__ import annotations

import logging

from puerta.config import get_settings


def configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
