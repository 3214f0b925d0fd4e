"""Imports every context's tables so that ``Base.metadata`` knows them all (migrations, tests)."""

from __future__ import annotations

import puerta.accounts.tables
import puerta.appointments.tables
import puerta.audit.tables
import puerta.datakeys
import puerta.deployment
import puerta.documents.tables
import puerta.draws.tables
import puerta.incidents.tables
import puerta.notifications.tables
import puerta.proofs.tables
import puerta.ratelimits.tables
import puerta.shelters.tables
import puerta.vulnerability.tables  # noqa: F401
from puerta.db import Base

metadata = Base.metadata
