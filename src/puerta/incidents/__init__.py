"""Incident reporting, anonymous by default, sealed to the triage team (§4, item 5)."""
