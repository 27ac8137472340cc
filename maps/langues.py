"""The languages of the citizen pages: which one a request gets, and its texts.

Template strings are gettext messages (``{{ _("…") }}`` with Jinja's i18n extension); their
catalogues are the ``.po`` files under ``maps/locales``, compiled in memory by Babel when first
used, so a fresh clone needs no build step and no ``.mo`` file is committed. The taxonomy's
labels (themes, cards, besoins, types d'offre, national resources) are translated in data files,
``data/taxonomie/traductions/<langue>.yaml``, beside the French they translate.

A text without a translation is shown in French, marked ``lang="fr"`` so a screen reader
reads it as French: never a raw key.
"""

from __future__ import annotations

import contextvars
import io
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup, escape

FRANCAIS = "fr"
# code → (name in the language itself, writing direction)
LANGUES: dict[str, tuple[str, str]] = {
    "fr": ("Français", "ltr"),
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
    "es": ("Español", "ltr"),
    "uk": ("Українська", "ltr"),
}
COOKIE = "langue"
LOCALES_DIR = Path(__file__).parent / "locales"

_courante: contextvars.ContextVar[str] = contextvars.ContextVar("langue", default=FRANCAIS)


def valide(code: str | None) -> str | None:
    """The supported language a code names (« ar », « AR », « ar-MA »), or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUES else None


def depuis_accept_language(header: str | None) -> str | None:
    """The best supported language of an ``Accept-Language`` header, by its q-values."""
    choix: list[tuple[float, int, str]] = []
    for rang, part in enumerate((header or "").split(",")):
        code, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        langue = valide(code)
        if langue and q > 0:
            choix.append((-q, rang, langue))
    return min(choix)[2] if choix else None


def choisir(param: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The URL's ``lang`` first, then the remembered choice, then the browser's languages."""
    return (valide(param) or valide(cookie) or depuis_accept_language(accept_language)
            or FRANCAIS)


def activer(langue: str) -> None:
    """Render the following templates of this request in ``langue``."""
    _courante.set(langue)


def courante() -> str:
    return _courante.get()


def direction(langue: str) -> str:
    return LANGUES[langue][1]


@cache
def catalogue(langue: str) -> NullTranslations:
    """The gettext catalogue of a language, compiled from its ``.po`` (fuzzy entries left out)."""
    po = LOCALES_DIR / langue / "LC_MESSAGES" / "messages.po"
    if langue == FRANCAIS or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=langue)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str) -> str:
    return catalogue(courante()).gettext(message)


def ngettext(singulier: str, pluriel: str, n: int) -> str:
    return catalogue(courante()).ngettext(singulier, pluriel, n)


@cache
def traductions_taxonomie(dossier: Path, langue: str) -> dict[str, dict[str, dict[str, str]]]:
    """``{"cartes": {slug: {"nom": …, "resume": …}}, "besoins": …}`` for one language."""
    fichier = dossier / f"{langue}.yaml"
    if langue == FRANCAIS or not fichier.exists():
        return {}
    return yaml.safe_load(fichier.read_text(encoding="utf-8")) or {}


def libelle(dossier: Path, objet: Any, genre: str, champ: str) -> str | None:
    """The translation of one taxonomy field in the current language, or None."""
    slug = objet["slug"] if isinstance(objet, dict) else objet.slug
    entree = traductions_taxonomie(dossier, courante()).get(genre, {}).get(slug, {})
    return entree.get(champ)


def filtres(dossier: Path) -> dict[str, Any]:
    """Jinja filters for taxonomy texts: ``traduire`` in content (a French fallback is marked
    ``lang="fr"``), ``traduire_texte`` in attributes and options (plain text)."""

    def francais(objet: Any, champ: str) -> str:
        return objet[champ] if isinstance(objet, dict) else getattr(objet, champ)

    def traduire_texte(objet: Any, genre: str, champ: str) -> str:
        return libelle(dossier, objet, genre, champ) or francais(objet, champ)

    def traduire(objet: Any, genre: str, champ: str) -> Markup:
        traduit = libelle(dossier, objet, genre, champ)
        if traduit is not None or courante() == FRANCAIS:
            return escape(traduit or francais(objet, champ))
        return Markup('<span lang="fr" dir="ltr">{}</span>').format(francais(objet, champ))

    return {"traduire": traduire, "traduire_texte": traduire_texte}
