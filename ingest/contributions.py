"""ARS contributions: rows of an import file, or one offer sent to the API, become ``ars``
source records published through the same pipeline as the national sources.

Why the same pipeline: an ARS row that describes an offer already known nationally is found
by the merge engine (``ingest.merge``) and joins it instead of duplicating it; every field an
ARS gives outranks the national sources (``publish.SOURCE_RANK``), with provenance and history;
a national re-ingestion then never overwrites it. New ARS offers start as drafts
(« brouillon ») of the ARS's région; a moderator publishes them.

One transaction per write: the caller commits, or rolls back for a dry run — the dry-run
report is the real report, computed by doing the work and undoing it.

Formats (``docs/contributions.md``): CSV with French headers (``;`` or ``,``, UTF-8 or
Windows-1252) and GeoJSON (Point features, the same names as properties).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cartographie import audit, contributions, jeux, temporaire
from cartographie.comptes import Compte
from cartographie.geocodage import Geocodeur, GeocodeurGeoplateformeLot, geocode_many
from cartographie.settings import Settings, get_settings
from cartographie.taxonomy import CARTES
from cartographie.territoires import commune_place, in_france
from ingest import publish
from ingest.finess import display_phone
from ingest.records import Record, Rejection, WrongFormat
from ingest.runner import RunReport, finish, stage
from ingest.sources import detect_encoding, open_binary, text_lines

SOURCE = "ars"
COLUMNS = ("identifiant", "nom", "cartes", "types_offre", "description", "adresse",
           "code_postal", "ville", "code_commune", "latitude", "longitude", "telephone",
           "courriel", "site_web", "reservation_url", "horaires", "gratuit", "age_min",
           "age_max", "modalites", "siret")
# One temporary closure or temporary hours per row (``cartographie.temporaire``).
TEMPORARY_COLUMNS = ("temporaire_type", "temporaire_du", "temporaire_au",
                     "temporaire_horaires", "temporaire_message")
COLUMNS += TEMPORARY_COLUMNS
MODALITES = ("sans_rdv", "sur_rdv", "anonyme", "teleconsultation", "gratuit",
             "reserve_professionnels_sante")
MAX_LENGTH = {"nom": 300, "description": 5000, "adresse": 300, "horaires": 500,
              "site_web": 2000, "reservation_url": 2000, "ville": 150, "identifiant": 100}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OSM_HOURS = re.compile(r"^24/7$|\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b")
TRUE = {"oui", "o", "vrai", "true", "1", "yes"}
FALSE = {"non", "n", "faux", "false", "0", "no"}
NO_PLACE = ("lieu absent : donnez latitude et longitude, une adresse avec son code postal ou sa "
            "ville, ou un code commune")
# Temporary tables the pipeline leaves in the session: dropped after each write, so that
# several writes can share one transaction (an API request, a test).
PIPELINE_TABLES = ("incoming", "changed", "offres_sans_ce_record", "nouvelles_valeurs",
                   "offres_touchees", "equivalence")


class ContributionInvalide(Exception):
    """The values sent cannot make an offer; ``erreurs`` says why, in French."""

    def __init__(self, erreurs: list[str]):
        self.erreurs = erreurs
        super().__init__(" ; ".join(erreurs))


# -- one row or one API payload → offer fields ------------------------------------------


@dataclass
class Ligne:
    """A row being read: its fields so far, and what is wrong or worth a warning."""

    numero: int | None
    valeurs: dict[str, Any]
    champs: dict[str, Any] = field(default_factory=dict)
    erreurs: list[str] = field(default_factory=list)
    avertissements: list[str] = field(default_factory=list)
    lon: float | None = None
    lat: float | None = None
    a_geocoder: str | None = None
    hors_region: bool = False
    periode: dict[str, Any] | None = None  # its temporary closure or hours, checked


def _text(ligne: Ligne, name: str) -> str | None:
    value = ligne.valeurs.get(name)
    if value is None:
        return None
    value = " ".join(str(value).split()) if name != "description" else str(value).strip()
    limit = MAX_LENGTH.get(name)
    if limit and len(value) > limit:
        ligne.erreurs.append(f"{name} : {len(value)} caractères, au plus {limit}")
        return None
    return value or None


LIST_FIELDS = ("cartes", "types_offre", "modalites")


def _storable(ligne: Ligne, name: str, value: str) -> str:
    """The text as PostgreSQL can hold it: a NUL or a lone UTF-16 surrogate is an error of the
    row, and is replaced (U+FFFD) so that the quarantined row keeps everything else."""
    if "\x00" in value:
        ligne.erreurs.append(f"{name} : caractère nul interdit")
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        ligne.erreurs.append(f"{name} : caractère invalide (moitié de paire UTF-16 isolée)")
        value = value.encode("utf-8", "replace").decode("utf-8").replace("?", "\ufffd")
    return value


def clean_values(ligne: Ligne) -> None:
    """Refuse what no column can hold before reading any value: texts with NUL or lone
    surrogates, and objects or lists where a text is expected (e.g. nested GeoJSON)."""
    for name, value in list(ligne.valeurs.items()):
        if isinstance(value, list) and name in LIST_FIELDS:
            if not all(isinstance(item, str | int | float) for item in value):
                ligne.erreurs.append(f"{name} : une liste de textes est attendue")
                ligne.valeurs[name] = json.dumps(value, ensure_ascii=False)[:1000]
                continue
            ligne.valeurs[name] = [_storable(ligne, name, str(item)) for item in value]
        elif isinstance(value, dict | list):
            ligne.erreurs.append(f"{name} : un texte ou un nombre est attendu, pas un objet")
            ligne.valeurs[name] = _storable(ligne, name,
                                            json.dumps(value, ensure_ascii=False)[:1000])
        elif isinstance(value, str):
            ligne.valeurs[name] = _storable(ligne, name, value)


def _list(ligne: Ligne, name: str) -> list[str]:
    value = ligne.valeurs.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[|,]", str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def _known_list(ligne: Ligne, name: str, known, unknown_word: str, hint: str = "") -> list[str]:
    """A list field whose values must all be known; the unknown ones are a French error."""
    values = _list(ligne, name)
    unknown = [v for v in values if v not in known]
    if unknown:
        ligne.erreurs.append(f"{name} : {unknown_word} « {', '.join(unknown)} »{hint}")
    return values


def _number(ligne: Ligne, name: str, low: float, high: float, integer: bool = False):
    raw = ligne.valeurs.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(str(raw).strip().replace(",", "."))
    except ValueError:
        ligne.erreurs.append(f"{name} : « {raw} » n'est pas un nombre")
        return None
    if integer and not value.is_integer():
        ligne.erreurs.append(f"{name} : un nombre entier est attendu (« {raw} »)")
        return None
    if not low <= value <= high:
        ligne.erreurs.append(f"{name} : {raw} hors de l'intervalle [{low:g}, {high:g}]")
        return None
    return int(value) if integer else value


def _url(ligne: Ligne, name: str) -> str | None:
    value = _text(ligne, name)
    if value and not value.lower().startswith(("https://", "http://")):
        ligne.erreurs.append(f"{name} : une adresse web commence par https:// (« {value} »)")
        return None
    return value


def _flag(ligne: Ligne, name: str) -> bool | None:
    raw = ligne.valeurs.get(name)
    if raw is None or isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in TRUE | FALSE:
        return value in TRUE
    if value:
        ligne.erreurs.append(f"{name} : « oui » ou « non » attendu (« {raw} »)")
    return None


def _phone(ligne: Ligne) -> str | None:
    raw = _text(ligne, "telephone")
    if raw is None:
        return None
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) == 4 and digits[0] in "13":  # short national numbers (« 3989 »)
        return digits
    if len(digits) != 10 or not digits.startswith("0"):
        ligne.erreurs.append(f"telephone : numéro français à 10 chiffres attendu (« {raw} »)")
        return None
    return display_phone(digits)


def read_values(ligne: Ligne, types_offre: set[str], *, partial: bool = False) -> None:
    """Check and normalise the values of one offer into ``ligne.champs``.

    ``partial``: only the fields present are checked (an API correction); otherwise a name,
    at least one card and a place are required.
    """
    present = set(ligne.valeurs) if partial else set(COLUMNS)
    champs = ligne.champs
    if "identifiant" in present:
        _text(ligne, "identifiant")  # checked here, used as the record's key (key_of)
    for name in ("nom", "description", "adresse", "code_postal", "ville", "code_commune",
                 "horaires"):
        if name in present:
            champs[name] = _text(ligne, name)
    if "nom" in present and not champs.get("nom"):
        ligne.erreurs.append("nom : obligatoire")
    if "code_postal" in present and champs.get("code_postal") and not re.fullmatch(
            r"\d{5}", champs["code_postal"]):
        ligne.erreurs.append(f"code_postal : 5 chiffres attendus (« {champs['code_postal']} »)")
    if champs.get("horaires") and not OSM_HOURS.search(champs["horaires"]):
        ligne.avertissements.append(
            "horaires : pas au format OSM opening_hours (ex. « Mo-Fr 09:00-17:00 ») ; "
            "gardées telles quelles")
    if "cartes" in present:
        cartes = _known_list(ligne, "cartes", CARTES, "inconnue(s)",
                             f" (attendues : {', '.join(CARTES)})")
        if not cartes:
            ligne.erreurs.append("cartes : au moins une carte (ex. nutrition)")
        elif len(cartes) > len(CARTES):
            ligne.erreurs.append(f"cartes : {len(cartes)} cartes, au plus {len(CARTES)}")
        champs.setdefault("attributs", {})["cartes"] = cartes
    if "types_offre" in present:
        champs["types_offre"] = _known_list(ligne, "types_offre", types_offre, "inconnu(s)")
    if "modalites" in present:
        champs["modalites"] = _known_list(ligne, "modalites", MODALITES, "inconnue(s)",
                                          f" (attendues : {', '.join(MODALITES)})")
    if "siret" in present and (siret := _text(ligne, "siret")):
        siret = siret.replace(" ", "")
        if not re.fullmatch(r"\d{14}", siret):
            ligne.erreurs.append(f"siret : 14 chiffres attendus (« {siret} »)")
        champs.setdefault("attributs", {})["siret"] = siret
    for name in ("site_web", "reservation_url"):
        if name in present:
            champs[name] = _url(ligne, name)
    if "gratuit" in present:
        champs["gratuit"] = _flag(ligne, "gratuit")
    for name in ("age_min", "age_max"):
        if name in present:
            champs[name] = _number(ligne, name, 0, 120, integer=True)
    if (champs.get("age_min") is not None and champs.get("age_max") is not None
            and champs["age_min"] > champs["age_max"]):
        ligne.erreurs.append(f"age_min ({champs['age_min']}) supérieur à age_max "
                             f"({champs['age_max']})")
    if {"telephone", "courriel"} & present:
        contacts = []
        if phone := _phone(ligne):
            contacts.append({"type": "telephone", "valeur": phone})
        if email := _text(ligne, "courriel"):
            if EMAIL.match(email):
                contacts.append({"type": "courriel", "valeur": email})
            else:
                ligne.erreurs.append(f"courriel : adresse invalide (« {email} »)")
        champs["contacts"] = contacts
    _read_period(ligne)
    _read_place(ligne, partial)


def _read_period(ligne: Ligne) -> None:
    """The row's « temporaire_* » columns: a period checked as the API checks it; one already
    over is skipped with a warning (a file imported again later stays importable)."""
    given = {name.removeprefix("temporaire_"): " ".join(str(ligne.valeurs[name]).split())
             for name in TEMPORARY_COLUMNS if str(ligne.valeurs.get(name) or "").strip()}
    if not given:
        return
    genre = given.get("type", "").lower() or None
    du, au = temporaire.parse_date(given.get("du")), temporaire.parse_date(given.get("au"))
    horaires, message = given.get("horaires"), given.get("message")
    problems = temporaire.check(genre, du, au, horaires, message, past_allowed=True)
    if problems:
        ligne.erreurs.extend(f"information temporaire, {problem}" for problem in problems)
    elif au < temporaire.today():
        ligne.avertissements.append(f"information temporaire : période finie le "
                                    f"{au:%d/%m/%Y}, ignorée")
    else:
        ligne.periode = {"genre": genre, "du": du, "au": au,
                         "horaires": horaires if genre == "horaires" else None,
                         "message": message}


def _read_place(ligne: Ligne, partial: bool) -> None:
    has_lat, has_lon = (ligne.valeurs.get(k) not in (None, "") for k in ("latitude", "longitude"))
    if has_lat != has_lon:
        ligne.erreurs.append("latitude et longitude vont ensemble")
        return
    if has_lat:
        lat = _number(ligne, "latitude", -90, 90)
        lon = _number(ligne, "longitude", -180, 180)
        if lat is None or lon is None:
            return
        if not in_france(lon, lat):
            ligne.erreurs.append(f"coordonnées hors de France et de ses territoires d'outre-mer "
                                 f"(longitude {lon:.5f}, latitude {lat:.5f})")
            return
        ligne.lon, ligne.lat = lon, lat
        ligne.champs["precision_geo"] = "adresse"
        return
    champs = ligne.champs
    if champs.get("adresse") or champs.get("code_postal") or champs.get("ville"):
        place = " ".join(v for v in (champs.get("code_postal"), champs.get("ville")) if v)
        ligne.a_geocoder = ", ".join(v for v in (champs.get("adresse"), place) if v)
    elif not champs.get("code_commune") and not partial:
        ligne.erreurs.append(NO_PLACE)


# -- files -------------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    encoding = detect_encoding(path)
    lines = text_lines(path, encoding)
    first = next(lines, "")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    header = [c.strip().lstrip("\ufeff").lower() for c in next(csv.reader([first],
                                                                            delimiter=delimiter))]
    if "nom" not in header:
        raise WrongFormat("en-tête CSV sans colonne « nom » : voir le modèle "
                          "data/contributions/modele.csv")
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        raise WrongFormat(f"colonne(s) inconnue(s) : {', '.join(unknown)} (colonnes du modèle : "
                          f"{', '.join(COLUMNS)})")

    def rest() -> Iterator[str]:
        yield from lines

    reader = csv.reader(rest(), delimiter=delimiter)
    for row in _checked_rows(reader):
        if not any(cell.strip() for cell in row):
            continue
        number = reader.line_num + 1  # the header is line 1
        if len(row) != len(header):
            yield number, {"__erreur__": f"nombre de champs incorrect ({len(row)} au lieu de "
                                         f"{len(header)})"}
            continue
        yield number, {k: v for k, v in zip(header, row, strict=True) if v.strip() != ""}


def _checked_rows(reader) -> Iterator[list[str]]:
    """The CSV reader's rows; a cell past the csv module's limit refuses the file in French."""
    try:
        yield from reader
    except csv.Error as exc:
        raise WrongFormat(f"ligne {reader.line_num + 1} : cellule de plus de "
                          f"{csv.field_size_limit()} caractères, ou guillemet jamais "
                          "refermé") from exc


def _geojson_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    encoding = detect_encoding(path)
    try:
        with open_binary(path) as handle:
            document = json.loads(handle.read().decode(
                "utf-8-sig" if encoding == "utf-8" else encoding))
    except json.JSONDecodeError as exc:
        raise WrongFormat(f"GeoJSON illisible : JSON invalide ligne {exc.lineno}, colonne "
                          f"{exc.colno}") from exc
    except RecursionError as exc:
        raise WrongFormat("GeoJSON illisible : objets trop imbriqués") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise WrongFormat("GeoJSON illisible : ni JSON en UTF-8 ni Windows-1252") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise WrongFormat("GeoJSON : une FeatureCollection est attendue")
    features = document.get("features") or []
    if not isinstance(features, list):
        raise WrongFormat("GeoJSON : « features » doit être une liste d'objets Feature")
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            yield number, {"__erreur__": "objet GeoJSON sans « properties »"}
            continue
        values = {k: v for k, v in properties.items() if k in COLUMNS and v not in (None, "")}
        geometry = feature.get("geometry")
        if geometry:
            coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (not isinstance(geometry, dict) or geometry.get("type") != "Point"
                    or not isinstance(coordinates, list)
                    or len(coordinates) < 2):
                yield number, {"__erreur__": "géométrie : un Point [longitude, latitude] est "
                                             "attendu"}
                continue
            values["longitude"], values["latitude"] = coordinates[0], coordinates[1]
        yield number, values


@dataclass(frozen=True)
class Limites:
    """What one import may hold: past these an import is refused (413) before any work,
    whatever its compressed size (``docs/contributions.md``: the import budget)."""

    octets: int
    lignes: int

    @classmethod
    def of(cls, settings: Settings) -> Limites:
        return cls(settings.contributions_taille_max, settings.contributions_lignes_max)


def _check_decompressed_size(path: Path, limit: int) -> None:
    """A small gzip can hold a huge file: count what it decompresses to, stop past the limit."""
    size = 0
    with open_binary(path) as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise contributions.Refus(413, f"Fichier trop volumineux une fois décompressé : "
                                               f"au plus {limit} octets.")


def read_file(path: Path, limites: Limites) -> list[Ligne]:
    """Every row of a CSV or GeoJSON import file (by content: « { » starts a GeoJSON)."""
    _check_decompressed_size(path, limites.octets)
    with open_binary(path) as handle:
        start = handle.read(64)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")) or start.count(0) > len(start) // 4:
        raise WrongFormat("encodage non reconnu : le fichier semble en UTF-16 ; enregistrez-le "
                          "en UTF-8 (ou Windows-1252)")
    head = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    rows = _geojson_rows(path) if head.startswith(b"{") else _csv_rows(path)
    lignes = []
    for number, values in rows:
        if len(lignes) == limites.lignes:
            raise contributions.Refus(413, f"Trop de lignes : au plus {limites.lignes} par "
                                           "import ; découpez le fichier.")
        ligne = Ligne(number, values)
        if "__erreur__" in values:
            ligne.erreurs.append(values.pop("__erreur__"))
        clean_values(ligne)
        lignes.append(ligne)
    return lignes


# -- place, région, key ------------------------------------------------------------------


def locate(connection: Connection, lignes: list[Ligne],
           geocoder: Geocodeur | GeocodeurGeoplateformeLot, code_region: str) -> None:
    """Geocode rows without coordinates (by batch), then refuse rows outside the région."""
    pending = [ligne for ligne in lignes if ligne.a_geocoder and not ligne.erreurs]
    for ligne, lieu in zip(pending, geocode_many(geocoder, [p.a_geocoder for p in pending]),
                           strict=True):
        if lieu is None:
            ligne.erreurs.append(f"adresse introuvable : « {ligne.a_geocoder} »")
            continue
        ligne.lon, ligne.lat = lieu.lon, lieu.lat
        ligne.champs["precision_geo"] = lieu.precision
        if lieu.precision == "commune" and ligne.champs.get("adresse"):
            ligne.avertissements.append(f"adresse non trouvée précisément : placée au centre "
                                        f"de la commune ({lieu.libelle})")
    for ligne in lignes:
        code = ligne.champs.get("code_commune")
        if ligne.lon is None and code and not ligne.erreurs:
            place = commune_place(connection, code)
            if place is None:
                ligne.erreurs.append(f"code_commune : commune inconnue « {code} »")
                continue
            ligne.lon, ligne.lat = place.lon, place.lat
            ligne.champs["precision_geo"] = "commune"
    placed = [ligne for ligne in lignes if ligne.lon is not None and not ligne.erreurs]
    if not placed:
        return
    rows = connection.execute(text("""
        SELECT p.i, c.nom, c.code_region, r.nom AS region
        FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY
             AS p(lon, lat, i)
        CROSS JOIN LATERAL (
            SELECT k.nom, k.code_region FROM commune k
            WHERE k.geom IS NOT NULL
            ORDER BY k.geom <-> ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) LIMIT 1) c
        JOIN region r ON r.code = c.code_region
    """), {"lons": [p.lon for p in placed], "lats": [p.lat for p in placed]}).all()
    own = connection.execute(text("SELECT nom FROM region WHERE code = :code"),
                             {"code": code_region}).scalar_one()
    for index, commune, region_code, region_name in rows:
        if region_code != code_region:
            placed[index - 1].hors_region = True
            placed[index - 1].erreurs.append(
                f"lieu hors de votre région : {commune} est en {region_name} ({region_code}), "
                f"ce compte contribue pour {own} ({code_region})")


def require_region(connection: Connection, code_region: str) -> None:
    """An admin names the région: one that does not exist is a French 422, not a 500."""
    if connection.execute(text("SELECT 1 FROM region WHERE code = :code"),
                          {"code": code_region}).first() is None:
        raise contributions.Refus(422, f"région inconnue « {code_region} » : donnez le code "
                                       "INSEE d'une région (ex. 44 pour le Grand Est)")


def key_of(code_region: str, ligne: Ligne) -> str:
    """The record's key: the ARS's own identifier when given, else what makes the offer."""
    own = ligne.valeurs.get("identifiant")
    if own:
        return f"{code_region}:{str(own).strip()}"
    basis = "|".join(str(ligne.champs.get(k) or "") for k in ("nom", "adresse", "code_postal",
                                                               "code_commune"))
    basis += f"|{ligne.lon}|{ligne.lat}"
    return f"{code_region}:{hashlib.sha1(basis.upper().encode()).hexdigest()[:16]}"


def to_items(lignes: list[Ligne], code_region: str) -> list[Record | Rejection]:
    items: list[Record | Rejection] = []
    for ligne in lignes:
        if ligne.erreurs:
            items.append(Rejection(ligne.numero, None, " ; ".join(ligne.erreurs),
                                   json.dumps(ligne.valeurs, ensure_ascii=False, default=str)))
            continue
        items.append(Record(key_of(code_region, ligne), ligne.numero, dict(ligne.valeurs),
                            ligne.champs, ligne.lon, ligne.lat))
    return items


# -- writing through the pipeline --------------------------------------------------------


@dataclass
class Ressemblance:
    """A near miss: the row « ressemble à l'offre N », with the score and the evidence."""

    offre_id: int
    nom: str
    score: float
    raison: str


@dataclass
class LigneRapport:
    ligne: int | None
    resultat: str  # creee, mise_a_jour, inchangee, doublon, erreur
    offre_id: int | None = None
    precision_geo: str | None = None
    erreurs: list[str] = field(default_factory=list)
    avertissements: list[str] = field(default_factory=list)
    cle: str | None = None
    ressemblances: list[Ressemblance] = field(default_factory=list)


@dataclass
class Rapport:
    dry_run: bool
    code_region: str
    run_id: int | None = None
    lues: int = 0
    creees: int = 0
    mises_a_jour: int = 0
    inchangees: int = 0
    doublons: int = 0
    erreurs: int = 0
    avertissements: int = 0
    lignes_a_voir: int = 0
    page: int = 1
    pages: int = 1
    lignes_par_page: int | None = None
    lignes: list[LigneRapport] = field(default_factory=list)

    def page_of(self, numero: int, par_page: int) -> Rapport:
        """This report with only page ``numero`` of its lines, the lines to look at first.

        The counts stay those of the whole file, so a 10,000-row report stays small; the
        order (errors, then lines with warnings, then the others, each by line number) puts
        every line that needs a look on the first pages, and every line is on one page.
        """
        ordered = sorted(self.lignes, key=_look_first)
        start = (numero - 1) * par_page
        return replace(self, page=numero, pages=max(1, -(-len(ordered) // par_page)),
                       lignes_par_page=par_page, lignes=ordered[start:start + par_page])


def _look_first(item: LigneRapport) -> tuple[int, bool, int]:
    rank = 0 if item.erreurs else 1 if item.avertissements else 2
    return rank, item.ligne is None, item.ligne or 0


def _lock_key(code_region: str) -> int:
    """One lock per région: two writes of one région could match the same offer and must
    wait for each other; another région's writes never touch those offers (``merge``)."""
    return zlib.crc32(f"cartographie-ingest-{SOURCE}-{code_region}".encode())


def write(connection: Connection, items: list[Record | Rejection], *, compte: Compte | None,
          code_region: str, emplacement: str, empreinte: str | None, data_dir: Path,
          dry_run: bool, action: str = "import", adresse_ip: str | None = None,
          avertissements: dict[int | None, list[str]] | None = None) -> Rapport:
    """Publish ARS records in the caller's transaction and report on every row.

    The caller commits, or rolls back when ``dry_run`` (then new offers' ids are not
    reported). ``avertissements``: warnings found while reading, by line.
    """
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": _lock_key(code_region)})
    run_id = connection.execute(text("""
        INSERT INTO run (source, emplacement, empreinte_sha256) VALUES (:source, :where, :sha)
        RETURNING id
    """), {"source": SOURCE, "where": emplacement, "sha": empreinte}).scalar_one()
    run = RunReport(run_id=run_id, source=SOURCE)
    stage(connection, items, run)
    run.counts = publish.publish(
        connection, SOURCE, run_id, data_dir, complete=False,
        new_offers=publish.NewOffers(statut="brouillon", origine="ars", region=code_region))
    rapport = _report(connection, run_id, dry_run, code_region, avertissements or {})
    connection.execute(text("UPDATE historique SET utilisateur_id = :user WHERE run_id = :run"),
                       {"user": compte.id if compte else None, "run": run_id})
    _audit(connection, run_id, compte, action, code_region, adresse_ip)
    finish(connection, run, "reussi", f"{rapport.doublons} doublon(s) d'offres existantes")
    connection.execute(text(f"DROP TABLE IF EXISTS {', '.join(PIPELINE_TABLES)}"))
    if not dry_run and (rapport.creees or rapport.mises_a_jour or rapport.doublons):
        jeux.refresh(connection, data_dir)
    return rapport


def _report(connection: Connection, run_id: int, dry_run: bool, code_region: str,
            avertissements: dict[int | None, list[str]]) -> Rapport:
    rows = connection.execute(text("""
        SELECT s.ligne, o.id AS offre_id, n.offre_existante IS NOT NULL AS existante,
               coalesce(n.fusion, false) AS fusion, n.offre_corrigee,
               c.cle IS NOT NULL AS changee, o.precision_geo, o.nom AS offre_nom,
               n.lieu_garde,
               (SELECT d.raison FROM decision_fusion d WHERE d.run_id = :run
                  AND d.cle = s.cle AND d.decision = 'fusion' LIMIT 1) AS fusion_raison,
               s.cle,
               (SELECT jsonb_agg(jsonb_build_object('offre_id', d.offre_id, 'nom', q.nom,
                                                    'score', d.score, 'raison', d.raison)
                                 ORDER BY d.score DESC)
                FROM decision_fusion d JOIN offre q ON q.id = d.offre_id
                WHERE d.run_id = :run AND d.cle = s.cle AND d.decision = 'quasi') AS quasi
        FROM staging s
        LEFT JOIN nouvelles_valeurs n ON n.cle = s.cle
        LEFT JOIN changed c ON c.cle = s.cle
        LEFT JOIN offre_source os ON os.source = 'ars' AND os.cle = s.cle
        LEFT JOIN offre o ON o.id = coalesce(n.offre_id, os.offre_id)
    """), {"run": run_id}).mappings().all()
    rapport = Rapport(dry_run=dry_run, code_region=code_region,
                      run_id=None if dry_run else run_id)
    for row in rows:
        near = [Ressemblance(**item) for item in row["quasi"] or []]
        warnings = list(avertissements.get(row["ligne"], [])) + [
            f"ressemble à l'offre {r.offre_id} « {r.nom} » : {r.raison}" for r in near]
        if row["lieu_garde"]:
            warnings.append(row["lieu_garde"])
        if not row["changee"]:
            resultat = "inchangee"
        elif row["fusion"] and row["offre_corrigee"] is None:
            resultat = "doublon"
            warnings.insert(0, f"doublon de l'offre {row['offre_id']} « {row['offre_nom']} » "
                               f"({row['fusion_raison']}) : rattachée, ses valeurs deviennent "
                               "des corrections ARS de cette offre")
        elif row["existante"] or row["fusion"]:
            resultat = "mise_a_jour"
        else:
            resultat = "creee"
        offer_id = None if dry_run and resultat == "creee" else row["offre_id"]
        rapport.lignes.append(LigneRapport(row["ligne"], resultat, offer_id,
                                           row["precision_geo"], [], warnings, row["cle"], near))
    for ligne, raison in connection.execute(text("SELECT ligne, raison FROM staging_rejet")):
        rapport.lignes.append(LigneRapport(ligne, "erreur", erreurs=raison.split(" ; ")))
    rapport.lignes.sort(key=lambda item: (item.ligne is None, item.ligne or 0))
    rapport.lues = len(rapport.lignes)
    for item in rapport.lignes:
        key = {"creee": "creees", "mise_a_jour": "mises_a_jour", "inchangee": "inchangees",
               "doublon": "doublons", "erreur": "erreurs"}[item.resultat]
        setattr(rapport, key, getattr(rapport, key) + 1)
        rapport.avertissements += len(item.avertissements)
        rapport.lignes_a_voir += bool(item.erreurs or item.avertissements)
    return rapport


def decide_near_miss(connection: Connection, compte: Compte, code_region: str, cle: str,
                     offre_id: int, decision: str, adresse_ip: str | None = None) -> str:
    """Keep an editor's answer to « ressemble à l'offre N » for the next imports of the row.

    « confirme »: the row is that offer (merged on the next import); « rejete »: it is not
    (never proposed again). Only a row of the editor's région and an offer of that région:
    a confirmation never links to another région's offer. Returns the French message.
    """
    if decision not in ("confirme", "rejete"):
        raise contributions.Refus(422, "Décision inconnue : « confirme » ou « rejete ».")
    if not cle.startswith(f"{code_region}:"):
        raise contributions.Refus(403, f"Cette ligne n'est pas un import de la région "
                                       f"{code_region}.")
    offre = contributions.target(connection, offre_id, lock=False)
    if offre.code_region != code_region:
        raise contributions.Refus(403, f"L'offre {offre_id} est hors de la région "
                                       f"{code_region} : elle ne peut pas être rattachée.")
    connection.execute(text("""
        INSERT INTO rapprochement_decision (source, cle, offre_id, decision, code_region,
                                            utilisateur_id)
        VALUES (:source, :cle, :offre, :decision, :region, :user)
        ON CONFLICT (source, cle, offre_id) DO UPDATE SET decision = excluded.decision,
            utilisateur_id = excluded.utilisateur_id, le = now()
    """), {"source": SOURCE, "cle": cle, "offre": offre_id, "decision": decision,
           "region": code_region, "user": compte.id})
    audit.record(connection, compte, f"rapprochement_{decision}", "offre", offre_id,
                 code_region, apres={"cle": cle, "decision": decision}, adresse_ip=adresse_ip)
    if decision == "confirme":
        return (f"C'est l'offre {offre_id} « {offre.nom} » : la ligne la rejoindra au prochain "
                "import (vérifiez de nouveau le fichier).")
    return (f"Ce n'est pas l'offre {offre_id} « {offre.nom} » : elle ne sera plus proposée "
            "pour cette ligne.")


def _audit(connection: Connection, run_id: int, compte: Compte | None, action: str,
           code_region: str, adresse_ip: str | None) -> None:
    """One audit entry per offer the write changed: the fields before and after (history)."""
    connection.execute(text("""
        INSERT INTO audit (utilisateur_id, action, objet_type, objet_id, code_region, avant,
                           apres, adresse_ip)
        SELECT :user, :action, 'offre', n.offre_id::text, :region,
               CASE WHEN n.offre_existante IS NULL AND NOT n.fusion THEN NULL
                    ELSE (SELECT jsonb_object_agg(h.champ, h.ancienne_valeur) FROM historique h
                          WHERE h.run_id = :run AND h.offre_id = n.offre_id) END,
               CASE WHEN n.offre_existante IS NULL AND NOT n.fusion
                    THEN (SELECT to_jsonb(x) FROM (
                            SELECT o.nom, o.statut, o.description, o.adresse, o.code_postal,
                                   o.code_commune, o.contacts, o.horaires, o.site_web,
                                   o.reservation_url, o.precision_geo, ST_AsText(o.geom) AS geom
                            FROM offre o WHERE o.id = n.offre_id) x)
                    ELSE (SELECT jsonb_object_agg(h.champ, h.nouvelle_valeur) FROM historique h
                          WHERE h.run_id = :run AND h.offre_id = n.offre_id) END,
               :ip
        FROM nouvelles_valeurs n
    """), {"user": compte.id if compte else None, "action": action, "region": code_region,
           "run": run_id, "ip": adresse_ip})


def import_file(connection: Connection, path: Path, *, compte: Compte | None, code_region: str,
                geocoder: Geocodeur | GeocodeurGeoplateformeLot, data_dir: Path, dry_run: bool,
                emplacement: str, empreinte: str | None, limites: Limites | None = None,
                adresse_ip: str | None = None) -> Rapport:
    """Read, check, place and write an import file; raises ``WrongFormat`` for a bad file and
    ``Refus(413)`` past the limits (by default the settings')."""
    require_region(connection, code_region)
    types_offre = set(connection.scalars(text("SELECT slug FROM type_offre")))
    lignes = read_file(path, limites or Limites.of(get_settings()))
    for ligne in lignes:
        if not ligne.erreurs:
            read_values(ligne, types_offre)
    locate(connection, lignes, geocoder, code_region)
    rapport = write(connection, to_items(lignes, code_region), compte=compte,
                    code_region=code_region, emplacement=emplacement, empreinte=empreinte,
                    data_dir=data_dir, dry_run=dry_run, adresse_ip=adresse_ip,
                    avertissements={ligne.numero: ligne.avertissements for ligne in lignes})
    periods = {ligne.numero: ligne.periode for ligne in lignes if ligne.periode}
    for line in rapport.lignes:  # a new offer of a dry run has no id: its period is checked
        if line.ligne in periods and line.offre_id is not None:
            temporaire.attach(connection, compte, line.offre_id, code_region,
                              periods[line.ligne], adresse_ip)
    return rapport


# -- one offer through the API -------------------------------------------------------------

PLACE_FIELDS = ("latitude", "longitude", "adresse", "code_postal", "ville", "code_commune")


def _checked(connection: Connection, ligne: Ligne, geocoder, code_region: str,
             partial: bool) -> None:
    types_offre = set(connection.scalars(text("SELECT slug FROM type_offre")))
    clean_values(ligne)
    read_values(ligne, types_offre, partial=partial)
    if not ligne.erreurs:
        locate(connection, [ligne], geocoder, code_region)
    if ligne.hors_region:
        raise contributions.Refus(403, " ; ".join(ligne.erreurs))
    if ligne.erreurs:
        raise ContributionInvalide(ligne.erreurs)


def create_offer(connection: Connection, compte: Compte, code_region: str,
                 valeurs: dict[str, Any], *, geocoder, data_dir: Path,
                 adresse_ip: str | None = None) -> LigneRapport:
    """A new ARS offer (a draft), or a correction of the offer it turns out to duplicate."""
    require_region(connection, code_region)
    ligne = Ligne(None, valeurs)
    _checked(connection, ligne, geocoder, code_region, partial=False)
    rapport = write(connection, to_items([ligne], code_region), compte=compte,
                    code_region=code_region, emplacement="api", empreinte=None,
                    data_dir=data_dir, dry_run=False, action="creation", adresse_ip=adresse_ip,
                    avertissements={None: ligne.avertissements})
    return rapport.lignes[0]


def _refuse_long_move(connection: Connection, offre_id: int, ligne: Ligne) -> None:
    """A correction places a national offer more precisely, it does not move it elsewhere:
    a far move is what a takeover looks like, and belongs to the national source."""
    limit = get_settings().contributions_deplacement_max_m
    distance = connection.execute(text("""
        SELECT ST_Distance(geom::geography,
                           ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
        FROM offre WHERE id = :id
    """), {"id": offre_id, "lon": ligne.lon, "lat": ligne.lat}).scalar_one()
    if distance is not None and distance > limit:
        raise ContributionInvalide([
            f"lieu : {distance:.0f} m du lieu actuel de l'offre nationale {offre_id} ; une "
            f"correction ARS la déplace d'au plus {limit:.0f} m (signalez une erreur de "
            "position plus grande à la source nationale)"])


def correct_offer(connection: Connection, compte: Compte, offre_id: int,
                  valeurs: dict[str, Any], *, geocoder, data_dir: Path,
                  adresse_ip: str | None = None) -> LigneRapport:
    """Change fields of an offer of the région: an ARS offer's own record, or the ARS
    correction record of a national offer (its fields then outrank the national sources)."""
    offre = contributions.target(connection, offre_id)
    contributions.authorise(compte, offre, "modifier")
    code_region = offre.code_region or contributions.region_of(compte)
    existing = connection.execute(text("""
        SELECT r.cle, r.normalise, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
        FROM offre_source os JOIN source_record r ON r.id = os.source_record_id
        WHERE os.offre_id = :id AND os.source = :source AND os.actif ORDER BY os.id LIMIT 1
    """), {"id": offre_id, "source": SOURCE}).mappings().first()
    moved = any(name in valeurs for name in PLACE_FIELDS)
    if moved and "latitude" not in valeurs:
        # A new address is read with what is known of the place (postcode, town).
        known = connection.execute(text("""
            SELECT o.code_postal, k.nom AS ville FROM offre o
            LEFT JOIN commune k ON k.code = o.code_commune WHERE o.id = :id
        """), {"id": offre_id}).mappings().one()
        valeurs = {**{k: v for k, v in known.items() if v}, **valeurs}
    ligne = Ligne(None, valeurs)
    _checked(connection, ligne, geocoder, code_region, partial=True)
    if moved and ligne.lon is None:  # e.g. the commune code cleared and nothing else given
        raise ContributionInvalide([f"{NO_PLACE} (ou gardez le lieu actuel)"])
    if moved and offre.origine == "national":
        _refuse_long_move(connection, offre_id, ligne)
    if existing:
        champs = {**existing["normalise"], **ligne.champs}
        champs["attributs"] = {**existing["normalise"].get("attributs", {}),
                               **ligne.champs.get("attributs", {})}
        key, lon, lat = existing["cle"], existing["lon"], existing["lat"]
    else:
        champs = {**ligne.champs, "offre_corrigee": offre_id}
        key, lon, lat = f"{code_region}:correction-{offre_id}", None, None
    if moved:
        lon, lat = ligne.lon, ligne.lat
    record = Record(key, None, valeurs, champs, lon, lat)
    rapport = write(connection, [record], compte=compte, code_region=code_region,
                    emplacement="api", empreinte=None, data_dir=data_dir, dry_run=False,
                    action="modification", adresse_ip=adresse_ip,
                    avertissements={None: ligne.avertissements})
    return rapport.lignes[0]
