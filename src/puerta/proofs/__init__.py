"""Signed proofs of registration and of appointment that any official verifies offline (§4, item 3)."""
