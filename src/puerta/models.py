"""Imports every context's tables so that ``Base.metadata`` knows them all (migrations, tests)."""

from __future__ import annotations

import puerta.accounts.tables
import puerta.appointments.tables
import puerta.audit.tables
import puerta.deployment
import puerta.draws.tables
import puerta.notifications.tables  # noqa: F401
from puerta.db import Base

metadata = Base.metadata
