"""Temporary information an ARS attaches to an offer: a closure, or other hours, for dated days.

« Fermé pour travaux du 1er au 24 décembre », « horaires d'été en août »: without it, people go
to a closed door while the regular hours say « ouvert ». A period has a first and a last day
(inclusive, days of Europe/Paris), a kind (``fermeture`` or ``horaires``, then with its OSM
hours) and a short message. It is public from its first day to its last; after that it is
kept (the offer's history, the Espace ARS) and never shown again. A cancelled period is kept
too, dated, and never shown.

Opening state: the periods become OSM rules appended to the regular hours (« 2026 Dec 01-2026
Dec 24 off »), so that ``opening-hours-py`` says open or closed on those days, and when it
reopens, with the same code as every other offer (``cartographie.ouverture``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte
from cartographie.contributions import Refus, authorise, target
from cartographie.horaires import describe_hours
from cartographie.ouverture import Ouverture, readable, state_at

GENRES = ("fermeture", "horaires")
MAX_MESSAGE = 200  # characters: a line on a card, not a page
MAX_DAYS = 366  # longer is not temporary: change the offer's hours instead
PARIS = ZoneInfo("Europe/Paris")
MONTHS_OSM = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
PARIS_TODAY = "(now() AT TIME ZONE 'Europe/Paris')::date"
# The offer's periods not cancelled and not over (a day of slack for places east of Paris):
# the current ones are shown, the coming ones only count for the opening state.
PERIODS_COLUMN = f"""coalesce((
    SELECT jsonb_agg(jsonb_build_object('id', t.id, 'genre', t.genre, 'du', t.du, 'au', t.au,
                                        'horaires', t.horaires, 'message', t.message)
                     ORDER BY t.du, t.id)
    FROM information_temporaire t
    WHERE t.offre_id = o.id AND t.annulee_le IS NULL AND t.au >= {PARIS_TODAY} - 1), '[]')"""


def today() -> dt.date:
    return dt.datetime.now(PARIS).date()


def day_of(moment: dt.datetime | None) -> dt.date:
    """The Paris day of an instant (a naive one is taken as Paris time)."""
    if moment is None:
        return today()
    return (moment.replace(tzinfo=PARIS) if moment.tzinfo is None
            else moment.astimezone(PARIS)).date()


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def in_force(periods: list[dict[str, Any]] | None, day: dt.date) -> list[dict[str, Any]]:
    """The periods shown on ``day``: closures first, each with its French label."""
    current = [p for p in periods or [] if _day(p["du"]) <= day <= _day(p["au"])]
    current.sort(key=lambda p: (p["genre"] != "fermeture", _day(p["du"])))
    return [{"genre": p["genre"], "du": _day(p["du"]).isoformat(),
             "au": _day(p["au"]).isoformat(), "horaires": p.get("horaires"),
             "horaires_texte": describe_hours(p.get("horaires")), "message": p.get("message"),
             "libelle": label(p)} for p in current]


def label(period: dict[str, Any]) -> str:
    end = f"{_day(period['au']):%d/%m/%Y}"
    if period["genre"] == "fermeture":
        return f"Fermé temporairement jusqu'au {end}"
    return f"Horaires temporaires jusqu'au {end}"


def closed_on(periods: list[dict[str, Any]] | None, day: dt.date) -> dict[str, Any] | None:
    """The closure in force on ``day``, if any (the one ending last)."""
    closures = [p for p in in_force(periods, day) if p["genre"] == "fermeture"]
    return max(closures, key=lambda p: p["au"]) if closures else None


def _osm_range(period: dict[str, Any]) -> str:
    start, end = _day(period["du"]), _day(period["au"])
    return (f"{start.year} {MONTHS_OSM[start.month - 1]} {start.day:02d}-"
            f"{end.year} {MONTHS_OSM[end.month - 1]} {end.day:02d}")


# « Mo 10:00-12:00, Sa 09:00-10:00 » (or « …12:00,Sa … »): an OSM additional rule, which the
# period's dates would not prefix (« Mo,We » and « 08:00-12:00, 14:00-18:00 » are one rule).
ADDED_RULE = re.compile(r",\s+[A-Za-z]|[0-9+],\s*[A-Za-z]")


def effective_hours(horaires: str | None, periods: list[dict[str, Any]] | None) -> str | None:
    """The regular hours with each period as dated rules after them (later OSM rules win on
    the days they name): closed, or closed except the temporary hours."""
    rules = []
    for period in periods or []:
        dates = _osm_range(period)
        rules.append(f"{dates} off")
        if period["genre"] == "horaires" and period.get("horaires"):
            rules.extend(f"{dates} {rule.strip()}" for rule in period["horaires"].split(";")
                         if rule.strip())
    if not rules:
        return horaires
    return "; ".join([horaires.strip() if horaires and horaires.strip() else "24/7 unknown",
                      *rules])


def state(horaires: str | None, periods: list[dict[str, Any]] | None,
          code_departement: str | None, moment: dt.datetime) -> Ouverture:
    """« Ouvert maintenant » with the temporary periods: a closure says until when."""
    found = state_at(effective_hours(horaires, periods), code_departement, moment)
    closure = closed_on(periods, found.le.date())  # the place's own day (DROM)
    if closure is not None:
        return Ouverture("ferme", closure["libelle"], found.le, found.prochain_changement)
    if found.etat == "inconnu" and not (horaires and horaires.strip()):
        return Ouverture("inconnu", "Horaires inconnus", found.le, found.prochain_changement)
    return found


# -- writes (Espace ARS, API, import) -----------------------------------------------------


def check(genre: str | None, du: dt.date | None, au: dt.date | None, horaires: str | None,
          message: str | None, *, past_allowed: bool = False) -> list[str]:
    """What is wrong with a period, in French (empty when it can be saved). ``past_allowed``:
    a period already over is not an error (an import file read again later skips it)."""
    errors = []
    if genre not in GENRES:
        errors.append("type : « fermeture » ou « horaires » attendu")
    if du is None:
        errors.append("début : une date AAAA-MM-JJ est attendue")
    if au is None:
        errors.append("fin : une date AAAA-MM-JJ est attendue")
    if du and au and au < du:
        errors.append("fin : la fin est avant le début")
    elif du and au and (au - du).days >= MAX_DAYS:
        errors.append(f"fin : au plus {MAX_DAYS} jours ; au-delà, changez les horaires de "
                      "l'offre")
    if au and au < today() and not past_allowed:
        errors.append("fin : cette période est déjà finie")
    if genre == "horaires" and not (horaires and horaires.strip()):
        errors.append("horaires : donnez les horaires de la période (syntaxe OSM, "
                      "ex. « Mo-Fr 10:00-12:00 »)")
    elif genre == "horaires" and ("||" in horaires or ADDED_RULE.search(horaires)):
        errors.append("horaires : séparez les règles par « ; » (une règle ajoutée par « , » ou "
                      "« || » ne prendrait pas les dates de la période)")
    elif genre == "horaires" and not readable(horaires):
        errors.append(f"horaires : « {horaires[:80]} » n'est pas lisible (syntaxe OSM, "
                      "ex. « Mo-Fr 10:00-12:00 »)")
    if genre == "fermeture" and horaires and horaires.strip():
        errors.append("horaires : une fermeture n'a pas d'horaires")
    if message and len(message) > MAX_MESSAGE:
        errors.append(f"message : {len(message)} caractères, au plus {MAX_MESSAGE}")
    if message and "\x00" in message:
        errors.append("message : caractère nul interdit")
    return errors


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text_value = str(value or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text_value, pattern).date()
        except ValueError:
            continue
    return None


def add(connection: Connection, compte: Compte, offre_id: int, genre: str | None,
        du: Any, au: Any, horaires: str | None = None, message: str | None = None,
        adresse_ip: str | None = None) -> dict[str, Any]:
    """Attach a period to an offer of the account's région; audited. ``Refus`` says why not."""
    offre = target(connection, offre_id)
    authorise(compte, offre, "modifier")
    if offre.statut == "retiree":
        raise Refus(409, f"L'offre {offre_id} est retirée : restaurez-la d'abord.")
    start, end = parse_date(du), parse_date(au)
    horaires = " ".join(horaires.split()) if horaires else None
    message = " ".join(message.split()) if message else None
    errors = check(genre, start, end, horaires, message)
    if errors:
        raise Refus(422, " ; ".join(errors))
    return attach(connection, compte, offre_id, offre.code_region,
                  {"genre": genre, "du": start, "au": end,
                   "horaires": horaires if genre == "horaires" else None, "message": message},
                  adresse_ip)


def attach(connection: Connection, compte: Compte | None, offre_id: int,
           code_region: str | None, period: dict[str, Any],
           adresse_ip: str | None = None) -> dict[str, Any]:
    """Save a checked period on an offer the caller may change (an import row's offer is of
    the import's région); the same period already there is not added twice. Audited."""
    same = connection.execute(text("""
        SELECT id, genre, du, au, horaires, message FROM information_temporaire
        WHERE offre_id = :offre AND annulee_le IS NULL AND genre = :genre AND du = :du
          AND au = :au AND horaires IS NOT DISTINCT FROM :horaires
          AND message IS NOT DISTINCT FROM :message
    """), {"offre": offre_id, **period}).mappings().first()
    if same is not None:
        return dict(same)
    row = connection.execute(text("""
        INSERT INTO information_temporaire (offre_id, genre, du, au, horaires, message,
                                            cree_par)
        VALUES (:offre, :genre, :du, :au, :horaires, :message, :compte)
        RETURNING id, genre, du, au, horaires, message
    """), {"offre": offre_id, **period, "compte": compte.id if compte else None}
    ).mappings().one()
    _changed(connection, offre_id)
    created = dict(row)
    audit.record(connection, compte, "information_temporaire", "offre", offre_id,
                 code_region, None, created, adresse_ip)
    return created


def cancel(connection: Connection, compte: Compte, offre_id: int, period_id: int,
           adresse_ip: str | None = None) -> dict[str, Any]:
    """Cancel a period (kept, dated, never shown again); audited."""
    offre = target(connection, offre_id)
    authorise(compte, offre, "modifier")
    row = connection.execute(text("""
        UPDATE information_temporaire SET annulee_le = now(), annulee_par = :compte
        WHERE id = :id AND offre_id = :offre AND annulee_le IS NULL
        RETURNING id, genre, du, au, horaires, message
    """), {"id": period_id, "offre": offre_id, "compte": compte.id}).mappings().one_or_none()
    if row is None:
        raise Refus(404, f"Aucune information temporaire {period_id} en cours sur l'offre "
                         f"{offre_id}.")
    _changed(connection, offre_id)
    audit.record(connection, compte, "annulation_information_temporaire", "offre", offre_id,
                 offre.code_region, dict(row), None, adresse_ip)
    return dict(row)


def _changed(connection: Connection, offre_id: int) -> None:
    """What the public reads of the offer changed: its date (change feed) and, through the
    offer's triggers, the data version that caches depend on."""
    connection.execute(text("UPDATE offre SET maj_le = now() WHERE id = :id"), {"id": offre_id})


def of_offer(connection: Connection, offre_id: int) -> list[dict[str, Any]]:
    """Every period of an offer for the Espace ARS: coming and current first, then history."""
    rows = connection.execute(text(f"""
        SELECT t.id, t.genre, t.du, t.au, t.horaires, t.message, t.cree_le, t.annulee_le,
               u.nom AS cree_par,
               CASE WHEN t.annulee_le IS NOT NULL THEN 'annulee'
                    WHEN t.au < {PARIS_TODAY} THEN 'passee'
                    WHEN t.du > {PARIS_TODAY} THEN 'a_venir' ELSE 'en_cours' END AS etat
        FROM information_temporaire t LEFT JOIN utilisateur u ON u.id = t.cree_par
        WHERE t.offre_id = :id
        ORDER BY t.annulee_le IS NOT NULL, t.au < {PARIS_TODAY}, t.du, t.id
    """), {"id": offre_id}).mappings().all()
    return [dict(r) for r in rows]
