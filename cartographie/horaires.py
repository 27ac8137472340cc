"""OSM ``opening_hours`` (how hours are stored) read aloud in French for people.

« Mo-Fr 09:00-12:00,14:00-17:00; Sa off » → « du lundi au vendredi : 9 h 00 – 12 h 00,
14 h 00 – 17 h 00 ; samedi : fermé ». A rule we cannot read is shown as it is stored.
"""

from __future__ import annotations

import re

DAY_NAMES = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi",
             "Sa": "samedi", "Su": "dimanche", "PH": "jours fériés"}
DAYS = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
RULE = re.compile(rf"^(?P<days>{DAYS}(?:-{DAYS})?(?:,{DAYS}(?:-{DAYS})?)*)?\s*(?P<times>.*)$")
TIME_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def describe_days(days: str) -> str:
    parts = []
    for span in days.split(","):
        first, _, last = span.partition("-")
        parts.append(f"du {DAY_NAMES[first]} au {DAY_NAMES[last]}" if last
                     else DAY_NAMES[first])
    return ", ".join(parts)


def describe_times(times: str) -> str | None:
    if times in ("off", "closed"):
        return "fermé"
    if times == "unknown":
        return "horaires à confirmer"
    if times == "24/7":
        return "24 h sur 24"
    ranges = []
    for part in times.split(","):
        match = TIME_RANGE.match(part.strip())
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        ranges.append(f"{h1} h {m1:02d} – {h2} h {m2:02d}")
    return ", ".join(ranges)


def describe_hours(opening_hours: str | None) -> str | None:
    """French description of an OSM opening_hours value (``None`` when there is none)."""
    if not opening_hours:
        return None
    if opening_hours.strip() == "24/7":
        return "24 h sur 24, 7 jours sur 7"
    rules = []
    for rule in opening_hours.split(";"):
        rule = rule.strip()
        match = RULE.match(rule)
        times = describe_times(match["times"].strip()) if match and match["times"] else None
        if not match or times is None:
            return opening_hours
        rules.append(f"{describe_days(match['days'])} : {times}" if match["days"] else times)
    return " ; ".join(rules)
