"""Geofence: where requests may come from, by place, date and nationality."""
