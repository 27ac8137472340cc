"""The 7 subjects, 12 cards, needs, offer types and national resources, from ``data/taxonomie``.

The files are edited by people: every problem is reported with its file and line, all at once,
and nothing is written to the database unless the whole taxonomy is valid. Loading is
idempotent: running it twice leaves the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert

from cartographie import models
from cartographie.yamlsource import LocatedDict, SourceError, line_of, read_yaml, stripped

# The contract of the product: other tools link to these slugs (architecture doc).
THEMES_CARTES: dict[str, tuple[str, ...]] = {
    "vaccination": ("vaccination-adulte", "vaccination-voyageur"),
    "addiction": (
        "addiction-drogues",
        "addiction-tabac",
        "addiction-alcool",
        "addiction-jeux",
        "addiction-produits-consommation-courante",
    ),
    "nutrition": ("nutrition",),
    "activite-physique": ("activite-physique",),
    "sante-sexuelle": ("sante-sexuelle",),
    "sante-mentale": ("sante-mentale",),
    "depistage": ("depistage",),
}
CARTES = tuple(slug for cartes in THEMES_CARTES.values() for slug in cartes)
MIN_BESOINS = 3


@dataclass
class TypeOffreDef:
    slug: str
    libelle: str
    description: str


@dataclass
class RessourceDef:
    slug: str
    nom: str
    description: str
    telephone: str | None
    url: str | None
    horaires: str | None
    cout: str | None
    verifie_le: dt.date
    age_min: int | None = None
    age_max: int | None = None
    publics: list[str] = field(default_factory=list)


@dataclass
class BesoinDef:
    slug: str
    libelle: str
    description: str
    types_offre: list[str]


@dataclass
class CarteDef:
    slug: str
    theme: str
    nom: str
    resume: str
    texte_editorial: str
    ressources: list[str]
    types_offre: list[str]
    besoins: list[BesoinDef]


@dataclass
class ThemeDef:
    slug: str
    nom: str
    description: str
    cartes: list[str]


@dataclass
class Taxonomy:
    themes: list[ThemeDef] = field(default_factory=list)
    cartes: list[CarteDef] = field(default_factory=list)
    types_offre: list[TypeOffreDef] = field(default_factory=list)
    ressources: list[RessourceDef] = field(default_factory=list)


class _Reader:
    """Collects every problem of one file with its line instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems

    def problem(self, where: Any, message: str) -> None:
        self.problems.append(f"{self.path}:{line_of(where)} : {message}")

    def mapping(self, value: Any, where: Any, what: str) -> LocatedDict | None:
        if isinstance(value, dict):
            return value
        self.problem(where, f"{what} doit être un dictionnaire (clé: valeur)")
        return None

    def text(self, entry: dict, key: str, *, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(entry, f"le champ « {key} » est obligatoire")
            return None
        if not isinstance(value, str):
            self.problem(entry, f"le champ « {key} » doit être un texte")
            return None
        return stripped(value)

    def slugs(self, entry: dict, key: str) -> list[str]:
        value = entry.get(key)
        if value is None:
            self.problem(entry, f"le champ « {key} » est obligatoire (liste de slugs)")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(entry, f"le champ « {key} » doit être une liste de slugs")
            return []
        seen: set[str] = set()
        for slug in value:
            if slug in seen:
                self.problem(slug, f"« {slug} » est cité deux fois dans « {key} »")
            seen.add(slug)
        return list(value)

    def unique(self, slug: str, seen: dict[str, str], what: str) -> None:
        if slug in seen:
            self.problem(slug, f"{what} « {slug} » en double (déjà défini en {seen[slug]})")
        else:
            seen[slug] = f"{self.path}:{line_of(slug)}"


def _read_list(path: Path, key: str, problems: list[str]) -> tuple[_Reader, list[dict]]:
    reader = _Reader(path, problems)
    if not path.is_file():
        problems.append(f"{path}:1 : fichier introuvable")
        return reader, []
    document = read_yaml(path)
    top = reader.mapping(document, document, "le fichier")
    items = top.get(key) if top else None
    if not isinstance(items, list):
        reader.problem(document, f"le fichier doit contenir une liste « {key}: »")
        return reader, []
    return reader, [e for e in items if reader.mapping(e, e, f"un élément de « {key} »")]


def read_taxonomy(folder: Path) -> Taxonomy:
    """Read and check the whole taxonomy; raise ``SourceError`` listing every problem."""
    problems: list[str] = []
    taxonomy = Taxonomy()

    reader, entries = _read_list(folder / "types_offre.yaml", "types_offre", problems)
    seen: dict[str, str] = {}
    for entry in entries:
        slug, libelle = reader.text(entry, "slug"), reader.text(entry, "libelle")
        if slug and libelle:
            reader.unique(slug, seen, "type d'offre")
            description = reader.text(entry, "description", required=False) or ""
            taxonomy.types_offre.append(TypeOffreDef(slug, libelle, description))
    known_types = {t.slug for t in taxonomy.types_offre}

    reader, entries = _read_list(folder / "ressources.yaml", "ressources", problems)
    seen = {}
    for entry in entries:
        slug, nom = reader.text(entry, "slug"), reader.text(entry, "nom")
        verifie_le = entry.get("verifie_le")
        if not isinstance(verifie_le, dt.date):
            reader.problem(entry, "le champ « verifie_le » doit être une date AAAA-MM-JJ")
            continue
        telephone, url = reader.text(entry, "telephone", required=False), reader.text(
            entry, "url", required=False
        )
        if not telephone and not url:
            reader.problem(entry, "une ressource nationale a au moins un téléphone ou une URL")
        if url and not url.startswith("https://"):
            reader.problem(url, f"l'URL « {url} » doit commencer par https://")
        ages = [entry.get("age_min"), entry.get("age_max")]
        if any(a is not None and (not isinstance(a, int) or isinstance(a, bool)) for a in ages) \
                or (None not in ages and ages[0] > ages[1]):
            reader.problem(entry, "age_min et age_max sont des nombres entiers, le premier au "
                                  "plus égal au second")
            continue
        if slug and nom:
            reader.unique(slug, seen, "ressource")
            taxonomy.ressources.append(
                RessourceDef(
                    slug, nom, reader.text(entry, "description") or "", telephone, url,
                    reader.text(entry, "horaires", required=False),
                    reader.text(entry, "cout", required=False), verifie_le,
                    ages[0], ages[1], [str(p) for p in entry.get("publics") or []],
                )
            )
    known_ressources = {r.slug for r in taxonomy.ressources}

    reader, entries = _read_list(folder / "themes.yaml", "themes", problems)
    seen, card_theme = {}, {}
    for entry in entries:
        slug, nom = reader.text(entry, "slug"), reader.text(entry, "nom")
        if not (slug and nom):
            continue
        if slug not in THEMES_CARTES:
            expected = ", ".join(THEMES_CARTES)
            reader.problem(slug, f"thème inconnu « {slug} » (attendus : {expected})")
            continue
        reader.unique(slug, seen, "thème")
        cartes = reader.slugs(entry, "cartes")
        for carte in cartes:
            if carte not in THEMES_CARTES[slug]:
                reader.problem(carte, f"carte inconnue « {carte} » pour le thème « {slug} »")
            elif carte in card_theme:
                reader.problem(carte, f"carte « {carte} » rangée sous deux thèmes")
            else:
                card_theme[carte] = slug
        description = reader.text(entry, "description") or ""
        taxonomy.themes.append(ThemeDef(slug, nom, description, cartes))
    for slug in THEMES_CARTES:
        if slug not in seen:
            reader.problem(None, f"le thème « {slug} » manque")
    for carte in CARTES:
        if carte not in card_theme:
            reader.problem(None, f"la carte « {carte} » n'est rangée sous aucun thème")

    besoins_seen: dict[str, str] = {}
    cards_seen: dict[str, str] = {}
    cards_folder = folder / "cartes"
    for path in sorted(cards_folder.glob("*.yaml")):
        reader = _Reader(path, problems)
        document = read_yaml(path)
        entry = reader.mapping(document, document, "le fichier")
        if entry is None:
            continue
        slug = reader.text(entry, "slug")
        if slug is None:
            continue
        if slug not in CARTES:
            reader.problem(slug, f"carte inconnue « {slug} » (attendues : {', '.join(CARTES)})")
            continue
        if slug != path.stem:
            reader.problem(slug, f"le slug « {slug} » doit être le nom du fichier ({path.stem})")
        reader.unique(slug, cards_seen, "carte")
        types = reader.slugs(entry, "types_offre")
        for type_slug in types:
            if type_slug not in known_types:
                reader.problem(type_slug, f"type d'offre inconnu « {type_slug} »")
        ressources = reader.slugs(entry, "ressources")
        for ressource in ressources:
            if ressource not in known_ressources:
                reader.problem(ressource, f"ressource nationale inconnue « {ressource} »")
        besoins = _read_besoins(reader, entry, set(types), besoins_seen)
        editorial = _read_editorial(reader, entry, folder / "editorial")
        taxonomy.cartes.append(
            CarteDef(
                slug=slug, theme=card_theme.get(slug, ""), nom=reader.text(entry, "nom") or "",
                resume=reader.text(entry, "resume") or "", texte_editorial=editorial,
                ressources=ressources, types_offre=types, besoins=besoins,
            )
        )
    for carte in CARTES:
        if carte not in cards_seen:
            problems.append(f"{cards_folder / (carte + '.yaml')}:1 : fichier de carte manquant")

    if problems:
        raise SourceError(problems)
    order = {slug: i for i, slug in enumerate(CARTES)}
    taxonomy.cartes.sort(key=lambda c: order[c.slug])
    return taxonomy


def _read_besoins(
    reader: _Reader, card: dict, card_types: set[str], seen: dict[str, str]
) -> list[BesoinDef]:
    entries = card.get("besoins")
    if not isinstance(entries, list):
        reader.problem(card, "le champ « besoins » est obligatoire (liste)")
        return []
    besoins = []
    for entry in entries:
        if not reader.mapping(entry, entry, "un besoin"):
            continue
        slug, libelle = reader.text(entry, "slug"), reader.text(entry, "libelle")
        types = reader.slugs(entry, "types_offre")
        if not types:
            reader.problem(entry, f"le besoin « {slug} » ne mène à aucun type d'offre")
        for type_slug in types:
            if type_slug not in card_types:
                reader.problem(
                    type_slug,
                    f"le besoin « {slug} » mène au type « {type_slug} », "
                    "absent des types d'offre de la carte",
                )
        if slug and libelle:
            reader.unique(slug, seen, "besoin")
            description = reader.text(entry, "description", required=False) or ""
            besoins.append(BesoinDef(slug, libelle, description, types))
    if len(entries) < MIN_BESOINS:
        reader.problem(card.get("besoins"), f"une carte propose au moins {MIN_BESOINS} besoins")
    return besoins


def _read_editorial(reader: _Reader, card: dict, folder: Path) -> str:
    name = reader.text(card, "editorial")
    if name is None:
        return ""
    path = folder / name
    if not path.is_file():
        reader.problem(name, f"texte éditorial introuvable : {path}")
        return ""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        reader.problem(name, f"texte éditorial vide : {path}")
    return text


def load_taxonomy(connection: Connection, taxonomy: Taxonomy) -> dict[str, int]:
    """Write the taxonomy in the caller's transaction: upsert, then drop what left the files."""
    tables: list[tuple[type[models.Base], str, list[dict[str, Any]]]] = [
        (models.Theme, "slug", [
            {"slug": t.slug, "nom": t.nom, "description": t.description, "ordre": i}
            for i, t in enumerate(taxonomy.themes)
        ]),
        (models.TypeOffre, "slug", [vars(t) for t in taxonomy.types_offre]),
        (models.RessourceNationale, "slug", [vars(r) for r in taxonomy.ressources]),
        (models.Carte, "slug", [
            {"slug": c.slug, "theme_slug": c.theme, "nom": c.nom, "resume": c.resume,
             "texte_editorial": c.texte_editorial, "ordre": i}
            for i, c in enumerate(taxonomy.cartes)
        ]),
        (models.Besoin, "slug", [
            {"slug": b.slug, "carte_slug": c.slug, "libelle": b.libelle,
             "description": b.description, "ordre": i}
            for c in taxonomy.cartes for i, b in enumerate(c.besoins)
        ]),
    ]
    links: list[tuple[type[models.Base], list[dict[str, Any]]]] = [
        (models.CarteTypeOffre, [
            {"carte_slug": c.slug, "type_offre_slug": t, "ordre": i}
            for c in taxonomy.cartes for i, t in enumerate(c.types_offre)
        ]),
        (models.CarteRessource, [
            {"carte_slug": c.slug, "ressource_slug": r, "ordre": i}
            for c in taxonomy.cartes for i, r in enumerate(c.ressources)
        ]),
        (models.BesoinTypeOffre, [
            {"besoin_slug": b.slug, "type_offre_slug": t}
            for c in taxonomy.cartes for b in c.besoins for t in b.types_offre
        ]),
    ]
    counts: dict[str, int] = {}
    for link, _ in links:
        connection.execute(delete(link))
    for model, key, rows in tables:
        table = model.__table__
        statement = insert(table)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[key],
                set_={c.name: statement.excluded[c.name] for c in table.columns if c.name != key},
            ),
            rows,
        )
        counts[table.name] = len(rows)
    for model, key, rows in reversed(tables):
        column = model.__table__.c[key]
        connection.execute(delete(model).where(column.not_in([r[key] for r in rows])))
    for link, rows in links:
        if rows:
            connection.execute(insert(link.__table__), rows)
        counts[link.__tablename__] = len(rows)
    return counts
