"""Opening hours written by people (« 9h-13h/14h-18h », « fermé ») → OSM ``opening_hours``.

Why OSM syntax: it is what data·inclusion and OpenStreetMap use, and what the maps and
other tools can read. Text we cannot read is kept as it was, never guessed.
"""

from __future__ import annotations

import re

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
CLOSED = {"fermé", "ferme", "fermée", "closed", "off"}
RANGE = re.compile(
    r"(?P<h1>\d{1,2})\s*(?:[:hH.]\s*(?P<m1>\d{2}))?\s*[hH]?\s*(?:-|à|a)\s*"
    r"(?P<h2>\d{1,2})\s*(?:[:hH.]\s*(?P<m2>\d{2}))?\s*[hH]?"
)


def day_ranges(text: str) -> str | None:
    """« 9h-13h/14h-18h » → « 09:00-13:00,14:00-18:00 »; « fermé » → « off »; else ``None``."""
    cleaned = text.strip().lower()
    if not cleaned:
        return None
    if cleaned in CLOSED:
        return "off"
    ranges = []
    for part in re.split(r"[/,;]|\bet\b", cleaned):
        part = part.strip()
        if not part:
            continue
        match = RANGE.fullmatch(part)
        if not match:
            return None
        start = (int(match["h1"]), int(match["m1"] or 0))
        end = (int(match["h2"]), int(match["m2"] or 0))
        if not (start < end and end <= (24, 0) and start[1] < 60 and end[1] < 60):
            return None
        ranges.append(f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}")
    return ",".join(ranges) or None


def weekly(days: list[str | None]) -> str | None:
    """Seven day texts (Monday first) → one OSM rule, consecutive equal days grouped.

    An empty day is closed; a day whose text cannot be read is « unknown » (OSM's own word).
    ``None`` when no day could be read: hours are then left to the text of the source.
    """
    readable = [
        (day_ranges(text) or "unknown") if text and text.strip() else None for text in days
    ]
    if all(value in (None, "unknown") for value in readable):
        return None
    rules = []
    index = 0
    while index < len(DAYS):
        value = readable[index]
        end = index
        while end + 1 < len(DAYS) and readable[end + 1] == value:
            end += 1
        if value is not None and value != "off":  # unlisted days are closed in OSM
            span = DAYS[index] if end == index else f"{DAYS[index]}-{DAYS[end]}"
            rules.append(f"{span} {value}")
        index = end + 1
    return "; ".join(rules) if rules else "off"
