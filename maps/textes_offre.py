"""Sentences about an offer said when a page is rendered, in the page's language.

The API says an offer's opening state in French (``ouverture.libelle``), with the instants it
comes from (``le``, ``prochain_changement``, at the place's time). A page in another language
says it again from those instants: the catalogue's patterns, with the day and time names of
Babel's CLDR data for that language. ``maps/static/carte.js`` does the same in the browser
(``Intl``), from the same patterns. French pages show the API's sentence as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date, format_skeleton, format_time

from cartographie.textes import a_traduire
from maps.langues import FRANCAIS, courante, gettext

DITES_DEPUIS_LE_CHANGEMENT = ("ouvert", "ferme_bientot", "ouvre")
# The publics a jeu names (« (11–25 ans, étudiants) »), translated when shown.
PUBLICS = {"etudiants": a_traduire("étudiants")}


def _instant(iso: str) -> dt.datetime:
    """The wall-clock instant of the place, as the API writes it (its own UTC offset)."""
    return dt.datetime.fromisoformat(iso)


def _quand(change: dt.datetime, maintenant: dt.datetime, langue: str) -> str:
    """« à 18 h 00 », « à minuit », « demain à 9 h 00 », « lundi à 9 h 00 », « le 24 décembre… »."""
    jours = (change.date() - maintenant.date()).days
    heure = format_time(change.time(), "short", locale=langue)
    if jours == 1 and change.time() == dt.time(0, 0):
        return gettext("à minuit")
    if jours == 0:
        return gettext("à %(heure)s") % {"heure": heure}
    if jours == 1:
        return gettext("demain à %(heure)s") % {"heure": heure}
    if jours < 7:
        return gettext("%(jour)s à %(heure)s") % {
            "jour": format_date(change.date(), "EEEE", locale=langue), "heure": heure}
    return gettext("le %(date)s à %(heure)s") % {
        "date": format_skeleton("MMMMd", change, locale=langue), "heure": heure}


def ouverture_libelle(ouverture: dict[str, Any]) -> str:
    """« Ouvert · ferme à 18 h 00 » in the page's language."""
    langue = courante()
    change = ouverture.get("prochain_changement")
    if langue == FRANCAIS or not change or ouverture["etat"] not in DITES_DEPUIS_LE_CHANGEMENT:
        return gettext(ouverture["libelle"])
    quand = _quand(_instant(change), _instant(ouverture["le"]), langue)
    if ouverture["etat"] == "ouvert":
        phrase = gettext("Ouvert · ferme %(quand)s")
    elif ouverture["etat"] == "ferme_bientot":
        phrase = gettext("Ferme bientôt (%(quand)s)")
    else:
        phrase = gettext("Fermé · ouvre %(quand)s")
    return phrase % {"quand": quand}


def date_lisible(iso: str) -> str:
    """A day as people of the page's language write it (« 02/12/2026 », « 2 December 2026 »)."""
    jour = dt.date.fromisoformat(str(iso)[:10])
    langue = courante()
    return jour.strftime("%d/%m/%Y") if langue == FRANCAIS else format_date(
        jour, "long", locale=langue)


def verification_libelle(offre: dict[str, Any]) -> str:
    """« Informations vérifiées le 02/12/2026 par l'ARS »; a source whose data has no date
    was only read that day, and an offer nobody confirmed was only updated."""
    par = offre.get("verifie_par")
    if par == "ars":
        phrase = gettext("Informations vérifiées le %(date)s par l'ARS")
    elif par == "source":
        phrase = gettext("Informations vérifiées le %(date)s par une source nationale")
    elif par == "source_non_datee":
        phrase = gettext("Informations lues le %(date)s dans une source nationale "
                         "(date de ses données inconnue)")
    else:
        phrase = gettext("Informations mises à jour le %(date)s")
    return phrase % {"date": date_lisible(offre["verifie_le"])}
