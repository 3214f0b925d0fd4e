"""A proof as a QR code: alphanumeric mode (Base45 and "PU1:" are in its alphabet), error
correction Q, the smallest version that holds it (14 for a group of 12 with Latin initials)."""

from __future__ import annotations

import io

import segno

SCALE = 4
BORDER = 4


def make(token: str) -> segno.QRCode:
    return segno.make(token, mode="alphanumeric", error="q", micro=False, boost_error=False)


def version(token: str) -> int:
    return int(make(token).version)


def svg(token: str) -> bytes:
    """A standalone SVG document (no style attribute: the pages' CSP allows none)."""
    out = io.BytesIO()
    make(token).save(out, kind="svg", scale=SCALE, border=BORDER, title="QR", svgclass="qr")
    return out.getvalue()


def svg_inline(token: str) -> str:
    """An ``<svg>`` element to put inside a page."""
    inline = make(token).svg_inline(border=BORDER, svgclass="qr", lineclass=None, omitsize=True)
    return str(inline)


def png(token: str) -> bytes:
    out = io.BytesIO()
    make(token).save(out, kind="png", scale=8, border=BORDER)
    return out.getvalue()
