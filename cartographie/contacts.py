"""Phone numbers as people write them, turned into links a phone can call."""

from __future__ import annotations

import re


def telephone_uri(number: str | None) -> str | None:
    """« 0 800 23 13 13 » → « tel:+33800231313 »; short numbers (« 39 89 ») stay short."""
    digits = re.sub(r"\D", "", number or "")
    if not digits:
        return None
    if len(digits) == 10 and digits.startswith("0"):
        return f"tel:+33{digits[1:]}"
    return f"tel:{digits}"
