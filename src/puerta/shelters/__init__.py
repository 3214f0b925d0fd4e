"""Shelters inside the geofence: directory, occupancy, import and export (§4, item 1)."""
