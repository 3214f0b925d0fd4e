"""Pure rules of incidents (standard library only; filled in by its feature)."""

from __future__ import annotations
