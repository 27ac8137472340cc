"""The « Facile à lire » version of a card's editorial text.

Each card has, beside its editorial text, a version written to the European easy-to-read
rules (short sentences, one idea per sentence, common words, no abbreviations, the reader
addressed as « vous »): ``data/taxonomie/facile/<carte>.md``. Its front matter names the DSFR
pictogram shown with it (``pictogramme: health/vaccine``, a file of the DSFR's artwork vendored
under ``maps/static/vendor/dsfr/artwork/pictograms``). We say « facile à lire », not « FALC »:
these texts have not been checked by readers with intellectual disabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

COOKIE = "lecture"
FACILE = "facile"


@dataclass(frozen=True)
class TexteFacile:
    texte: str  # Markdown
    pictogramme: str | None  # « health/vaccine »


@cache
def texte_facile(dossier: Path, carte: str) -> TexteFacile | None:
    """The easy version of a card's text, or None when the card has none yet."""
    fichier = dossier / f"{carte}.md"
    if not fichier.exists():
        return None
    contenu = fichier.read_text(encoding="utf-8")
    entete: dict = {}
    if contenu.startswith("---\n"):
        brut, _, contenu = contenu[4:].partition("\n---\n")
        entete = yaml.safe_load(brut) or {}
    return TexteFacile(contenu.strip(), entete.get("pictogramme"))


def lecture_choisie(param: str | None, cookie: str | None) -> str:
    """« facile » or « complet »: the URL's ``lecture`` first, then the remembered choice."""
    for choix in (param, cookie):
        if choix in (FACILE, "complet"):
            return choix
    return "complet"
