"""« Ouvert maintenant »: the state of an offer at a given instant, from its OSM ``opening_hours``.

Why a library: OSM ``opening_hours`` has far more than the weekly rules we write ourselves
(week numbers, months, « PH off », « 24/7 », comments); ``opening-hours-py`` (a maintained
Rust parser with Python bindings) evaluates all of it, in the place's time zone, with the
French public holidays of its own calendar. Local holidays that calendar lacks (abolition of
slavery in the DROM, Vendredi saint and 26 décembre in Alsace-Moselle) come from the
``holidays`` package: on such a day, hours that say something about « PH » cannot be told
for sure and the state is « horaires à confirmer ».

Times are those of the place: Europe/Paris in metropolitan France, the DROM in their own zones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

from cartographie.textes import a_traduire

PARIS = "Europe/Paris"
# Overseas départements: their time zone and their subdivision in ``holidays.France``.
OVERSEAS = {
    "971": ("America/Guadeloupe", "971"),
    "972": ("America/Martinique", "972"),
    "973": ("America/Cayenne", "973"),
    "974": ("Indian/Reunion", "974"),
    "976": ("Indian/Mayotte", "976"),
}
ALSACE_MOSELLE = {"57": "57", "67": "6AE", "68": "6AE"}
CLOSING_SOON = dt.timedelta(hours=1)  # as the maps people use: « ferme bientôt » within the hour
LOOK_AHEAD_DAYS = 8  # an opening further away than a week is just « fermé »
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


@dataclass(frozen=True)
class Ouverture:
    """The state shown to people: a code for tools, a French label for people."""

    etat: str  # ouvert | ferme_bientot | ferme | ouvre | inconnu
    libelle: str
    le: dt.datetime
    prochain_changement: dt.datetime | None = None

    @property
    def ouvert(self) -> bool:
        return self.etat in ("ouvert", "ferme_bientot")

    def as_json(self) -> dict[str, str | None]:
        return {"etat": self.etat, "libelle": self.libelle, "le": self.le.isoformat(),
                "prochain_changement": self.prochain_changement.isoformat()
                if self.prochain_changement else None}


def place_zone(code_departement: str | None) -> tuple[str, str | None]:
    """Time zone and local-holiday subdivision of a place, from its département code."""
    if code_departement in OVERSEAS:
        return OVERSEAS[code_departement]
    return PARIS, ALSACE_MOSELLE.get(code_departement or "")


@lru_cache(maxsize=8192)
def _parsed(expression: str, zone: str) -> OpeningHours | None:
    try:
        return OpeningHours(expression, timezone=ZoneInfo(zone), country="FR",
                            max_interval_days=LOOK_AHEAD_DAYS)
    except (ParserError, SyntaxError, ValueError):
        return None


def readable(expression: str | None) -> bool:
    """Whether OSM hours can be evaluated (what an ARS types is checked with this)."""
    return bool(expression and expression.strip()) and _parsed(expression.strip(),
                                                                 PARIS) is not None


@lru_cache(maxsize=64)
def _local_holidays(subdivision: str, year: int) -> frozenset[dt.date]:
    """Days off in that subdivision that are not national holidays."""
    import holidays  # its ~150 country modules load only if a local calendar is asked for

    national = holidays.France(years=year)
    local = holidays.France(subdiv=subdivision, years=year)
    return frozenset(day for day in local if day not in national)


def _clock(moment: dt.datetime) -> str:
    return f"{moment.hour} h {moment.minute:02d}"


def _when(change: dt.datetime, now: dt.datetime) -> str:
    """« à 14 h 00 », « à minuit », « demain à 9 h 00 », « lundi à 9 h 00 », …."""
    days = (change.date() - now.date()).days
    if days == 1 and change.time() == dt.time(0, 0):
        return "à minuit"
    if days == 0:
        return f"à {_clock(change)}"
    if days == 1:
        return f"demain à {_clock(change)}"
    if days < 7:
        return f"{WEEKDAYS[change.weekday()]} à {_clock(change)}"
    return f"le {change.day} {MONTHS[change.month - 1]} à {_clock(change)}"


def state_at(expression: str | None, code_departement: str | None,
             moment: dt.datetime) -> Ouverture:
    """The state of hours ``expression`` at ``moment`` (aware; a naive one is the place's time).

    Unknown when there are no hours, they cannot be read, they say « unknown » for that time,
    or it is a local holiday and the hours mention public holidays.
    """
    zone, subdivision = place_zone(code_departement)
    tz = ZoneInfo(zone)
    local = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    hours = _parsed(expression.strip(), zone) if expression and expression.strip() else None
    if hours is None:
        return Ouverture("inconnu", a_traduire("Horaires inconnus"), local)
    if (subdivision and "PH" in expression
            and local.date() in _local_holidays(subdivision, local.year)):
        return Ouverture("inconnu", a_traduire("Jour férié local : horaires à confirmer"), local)
    state, _comment = hours.state(local)
    change = hours.next_change(local)
    if change is not None:
        change = change.astimezone(tz)
        if change - local > dt.timedelta(days=LOOK_AHEAD_DAYS - 1):
            change = None
    if state == State.UNKNOWN:
        return Ouverture("inconnu", a_traduire("Horaires à confirmer"), local, change)
    if state == State.OPEN:
        if change is None:
            return Ouverture("ouvert", a_traduire("Ouvert"), local)
        if change - local <= CLOSING_SOON:
            return Ouverture("ferme_bientot", f"Ferme bientôt ({_when(change, local)})",
                             local, change)
        return Ouverture("ouvert", f"Ouvert · ferme {_when(change, local)}", local, change)
    if change is not None and hours.state(change)[0] == State.OPEN:
        return Ouverture("ouvre", f"Fermé · ouvre {_when(change, local)}", local, change)
    return Ouverture("ferme", a_traduire("Fermé"), local, change)
