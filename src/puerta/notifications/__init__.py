"""Notifications: an outbox filled in the same transaction as the change, and a delivery job."""
