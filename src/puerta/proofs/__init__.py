"""Signed proofs of registration and of appointment, verified offline (§4, item 3)."""
