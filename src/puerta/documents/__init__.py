"""Immigration documents per member, their reminders and statistics (§4, item 2)."""
