"""Rate limits and login lockouts shared by every app process (counts kept in the database)."""
