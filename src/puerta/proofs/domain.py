"""Pure rules of proofs (standard library only; filled in by its feature)."""

from __future__ import annotations
