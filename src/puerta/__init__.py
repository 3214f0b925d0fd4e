"""puerta: appointments at U.S. ports of entry, with protections for the people who wait."""

__version__ = "0.1.0"
