"""The sheet's QR code: the same orientation answer, online, from a phone.

segno (maintained, pure Python, no image library) draws it as inline SVG: sharp at any print
resolution and allowed by the pages' CSP, which forbids external and data images we do not
serve.
"""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, title: str) -> Markup:
    """An inline SVG QR code of ``url``; the URL is only encoded in the modules, never shown
    as markup, and the title is escaped by segno."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=3, title=title, border=2))
