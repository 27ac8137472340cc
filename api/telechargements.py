"""Bulk files of the published offers (``/donnees``): CSV, GeoJSON, NDJSON, one offer a row.

Why files rather than paging the API: a reuser (data.gouv.fr, an ARS, a GIS) takes the
whole country in one download. Each file is what ``/api/v1/offres`` gives for the same
offers (``api.representation.offer_json``, without ``ouverture``, an « open now » that a
file would freeze), read in id order through server-side cursors: memory stays bounded
at national scale.

A full file is built once per data version (``version_donnees``: every publication and
ARS write gives it a new value), on the first request that needs it, gzip-compressed into
``telechargements_dir``: written to a temporary file then renamed, its description
(``.json``, rows, size, dates) renamed last, so no process ever reads a half-written file;
a file lock makes the other processes of the service wait for it instead of building it
twice. ``modified_after`` files (the change feed) are built per request, not kept.

The list ``TELECHARGEMENTS`` is the registry the page and the routes read. A format is one
entry: its slug, title, file name, media type, and ``ecrire(connection, sortie,
modifie_apres) -> rows written``, a function writing the offers as bytes to ``sortie``
(``modifie_apres`` is None for the full file, else the instant of a change-feed file).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import gzip
import hashlib
import heapq
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text

from api.representation import feature, offer_json
from cartographie import recherche
from cartographie.contributions import csv_lines
from cartographie.hsds_tabulaire import hsds_tabulaire
from cartographie.recherche import Filtres

Ecrire = Callable[[Connection, IO[bytes], "dt.datetime | None"], int]
ROWS_PER_FETCH = 1000
CHUNK = 64 * 1024
SPOOL_BYTES = 8 * 1024 * 1024  # a change-feed file above this goes to a temporary file


def offers(connection: Connection, modifie_apres: dt.datetime | None) -> Iterator[dict]:
    """Every published offer (on site and remote) as the API writes it, in id order; with
    ``modifie_apres``, those changed since, the retired ones among them by id."""
    statements = recherche.walk_statements(Filtres(a_distance=True,
                                                   modifie_apres=modifie_apres))
    results = [connection.execute(text(sql), params, execution_options={
        "stream_results": True, "yield_per": ROWS_PER_FETCH}).mappings()
        for sql, params in statements]
    for row in heapq.merge(*results, key=lambda r: r["id"]):
        record = offer_json(dict(row))
        record.pop("ouverture", None)
        yield record


# Every field of an offer in the files, in the API's French names and order, with what
# it says (the /donnees page documents them); the CSV has one column each.
COLONNES = {
    "id": "identifiant de l'offre, stable (celui de /api/v1/offres/{id})",
    "statut": "« publiee » ; « retiree » dans un fichier modified_after (offre à supprimer)",
    "nom": "nom affiché, lisible (capitales et abréviations corrigées)",
    "nom_source": "nom tel que la source l'écrit",
    "description": "description de l'offre",
    "adresse": "adresse (numéro et voie)",
    "code_postal": "code postal",
    "code_commune": "code commune INSEE (COG 2026)",
    "commune": "nom de la commune",
    "code_departement": "code du département",
    "code_region": "code INSEE de la région (une ARS par région)",
    "lon": "longitude WGS 84 (point décimal)",
    "lat": "latitude WGS 84 (point décimal)",
    "precision_geo": "précision de la position : adresse, établissement ou commune",
    "mode": "sur_place, ou a_distance (téléphone, en ligne : sans position)",
    "gratuit": "oui / non (vide : non renseigné)",
    "age_min": "âge minimal indiqué par la source",
    "age_max": "âge maximal indiqué par la source",
    "public_age_min": "âge minimal du public effectif (sources et jeux d'offres)",
    "public_age_max": "âge maximal du public effectif",
    "public_publics": "publics particuliers (par exemple etudiants), séparés par « | »",
    "types_offre": "types d'offre, séparés par « | »",
    "jeux": "jeux d'offres dont l'offre fait partie, séparés par « | »",
    "cartes": "cartes thématiques où elle apparaît, séparées par « | »",
    "horaires": "horaires au format OpenStreetMap opening_hours",
    "horaires_texte": "les mêmes horaires en français",
    "contacts": "contacts en JSON : [{\"type\": \"telephone\", \"valeur\": …}]",
    "reservation_url": "adresse de prise de rendez-vous",
    "site_web": "site web",
    "accessibilite": "accessibilité (texte)",
    "modalites": "modalités d'accès (texte)",
    "finess_et": "numéro FINESS de l'établissement",
    "identifiants": "enregistrements des sources en JSON : [{\"source\": \"finess\", \"cle\": …}]",
    "score_qualite": "score de qualité de 0 à 100",
    "verifie_le": "date de la dernière vérification (source ou ARS), ISO 8601",
    "verifie_par": "qui l'a vérifiée : une source ou une ARS",
    "maj_le": "dernière modification, ISO 8601 (UTC)",
    "retiree_le": "date du retrait (fichier modified_after seulement)",
}
CSV_COLUMNS = tuple(COLONNES)


def csv_cell(value: Any) -> Any:
    """One value in a spreadsheet cell: lists of words joined by « | », objects as JSON,
    booleans « oui » / « non »."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "|".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def write_csv(connection: Connection, out: IO[bytes], modifie_apres: dt.datetime | None) -> int:
    rows = 0

    def cells() -> Iterator[dict]:
        nonlocal rows
        for record in offers(connection, modifie_apres):
            rows += 1
            yield {k: csv_cell(v) for k, v in record.items()}

    for line in csv_lines(cells(), CSV_COLUMNS):
        out.write(line.encode("utf-8"))
    return rows


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_ndjson(connection: Connection, out: IO[bytes],
                 modifie_apres: dt.datetime | None) -> int:
    rows = 0
    for record in offers(connection, modifie_apres):
        out.write((as_json(record) + "\n").encode("utf-8"))
        rows += 1
    return rows


def write_geojson(connection: Connection, out: IO[bytes],
                  modifie_apres: dt.datetime | None) -> int:
    """An RFC 7946 FeatureCollection (WGS 84 longitude, latitude; no ``crs``), a remote
    offer with a null geometry."""
    out.write(b'{"type":"FeatureCollection","features":[')
    rows = 0
    for rows, record in enumerate(offers(connection, modifie_apres), start=1):
        out.write((("\n" if rows == 1 else ",\n") + as_json(feature(record))).encode("utf-8"))
    out.write(b"\n]}\n")
    return rows


def write_hsds(connection: Connection, out: IO[bytes], modifie_apres: dt.datetime | None) -> int:
    """The HSDS 3.0 tabular package (one CSV per table and datapackage.json), always whole:
    a mirror follows the changes with /hsds/services?modified_after=. Rows: its services."""
    package = hsds_tabulaire(connection)
    out.write(package)
    with zipfile.ZipFile(io.BytesIO(package)) as archive, archive.open("service.csv") as table:
        return sum(1 for _ in csv.reader(io.TextIOWrapper(table, "utf-8"))) - 1


@dataclass(frozen=True)
class Telechargement:
    slug: str
    titre: str
    fichier: str
    media_type: str
    description: str
    ecrire: Ecrire
    suit_les_changements: bool = True  # ``?modified_after=`` gives only what changed


TELECHARGEMENTS: list[Telechargement] = [
    Telechargement("csv", "CSV (tableur)", "offres.csv", "text/csv; charset=utf-8",
                   "Séparateur « ; », UTF-8 avec BOM : s'ouvre tel quel dans Excel et "
                   "LibreOffice ; une offre par ligne.", write_csv),
    Telechargement("geojson", "GeoJSON", "offres.geojson", "application/geo+json",
                   "FeatureCollection (RFC 7946, WGS 84) : s'ouvre dans QGIS, uMap, "
                   "geojson.io ; les offres à distance sans géométrie.", write_geojson),
    Telechargement("ndjson", "NDJSON", "offres.ndjson", "application/x-ndjson",
                   "Une offre JSON par ligne, comme /api/v1/offres : à lire en flux.",
                   write_ndjson),
    Telechargement("hsds", "Paquet HSDS 3.0 (tabulaire)", "hsds-3.0-tabulaire.zip",
                   "application/zip",
                   "Norme Open Referral HSDS 3.0 : un CSV par table (services, lieux, "
                   "structures, horaires, termes…) et datapackage.json ; toujours complet "
                   "(les changements : /hsds/services?modified_after=).", write_hsds,
                   suit_les_changements=False),
]


def par_fichier(nom: str) -> Telechargement | None:
    return next((t for t in TELECHARGEMENTS if t.fichier == nom), None)


@dataclass(frozen=True)
class Fichier:
    """A built file (gzip) and what the page and the HTTP headers say of it."""

    chemin: str
    lignes: int
    taille: int            # bytes once decompressed (what the user gets)
    taille_gzip: int
    genere_le: str         # ISO 8601, UTC
    prochain_modified_after: str
    etag: str

    @property
    def genere(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.genere_le)


class Compteur:
    """A writable stream that counts the bytes going through it (the decompressed size)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.octets = out, 0

    def write(self, data: bytes) -> int:
        self.octets += len(data)
        return self.out.write(data)


def build(connection: Connection, export: Telechargement, out: IO[bytes],
          modifie_apres: dt.datetime | None) -> tuple[int, int, dt.datetime]:
    """Write the gzip of ``export`` to ``out``: rows, decompressed size, and the instant up
    to which it is complete (the ``modified_after`` to ask next)."""
    complete_until = recherche.complete_until(connection)  # before reading the offers
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as compressed:
        counted = Compteur(compressed)
        rows = export.ecrire(connection, counted, modifie_apres)  # type: ignore[arg-type]
    return rows, counted.octets, complete_until


class Depot:
    """The built full files, one per format and data version, shared by every process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def _key(connection: Connection) -> str:
        """The database and its data version: one file each."""
        version = connection.execute(text("SELECT version_donnees_courante()")).scalar_one()
        url = connection.engine.url.render_as_string(hide_password=True)
        return hashlib.sha256(f"{url}|{version}".encode()).hexdigest()[:24]

    def pret(self, connection: Connection, export: Telechargement) -> Fichier | None:
        """The current data version's file of ``export`` if it is built, without building."""
        return self._read(self.directory / f"{export.slug}-{self._key(connection)}.json")

    def dernier(self, export: Telechargement) -> Fichier | None:
        """The newest file of ``export`` on disk, whatever its version."""
        found = [f for f in map(self._read, self.directory.glob(f"{export.slug}-*.json")) if f]
        return max(found, key=lambda f: f.genere_le, default=None)

    def fichier(self, connection: Connection, export: Telechargement) -> Fichier:
        """The current data version's file of ``export``, built now if it is not yet."""
        key = self._key(connection)
        description = self.directory / f"{export.slug}-{key}.json"
        found = self._read(description)
        if found is not None:
            return found
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock(export.slug):
            found = self._read(description)  # another process may have built it meanwhile
            if found is None:
                found = self._build(connection, export, key, description)
        return found

    def ouvrir(self, connection: Connection, export: Telechargement) -> tuple[Fichier, IO[bytes]]:
        """The current file, opened: a newer version built by another process between
        finding and opening it has removed it, and that newer one is then taken."""
        for _ in range(3):
            made = self.fichier(connection, export)
            try:
                return made, open(made.chemin, "rb")  # noqa: SIM115 (closed by its reader)
            except FileNotFoundError:  # its description goes too: the next call rebuilds
                Path(made.chemin).with_suffix(".json").unlink(missing_ok=True)
        raise RuntimeError(f"le fichier {export.fichier} disparaît à chaque construction")

    @staticmethod
    def _read(description: Path) -> Fichier | None:
        try:
            return Fichier(**json.loads(description.read_text(encoding="utf-8")))
        except FileNotFoundError:  # not built, or dropped for a newer version meanwhile
            return None

    @contextmanager
    def _lock(self, slug: str) -> Iterator[None]:
        with (self.directory / f".{slug}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _build(self, connection: Connection, export: Telechargement, key: str,
               description: Path) -> Fichier:
        target = self.directory / f"{export.slug}-{key}.gz"
        with tempfile.NamedTemporaryFile(dir=self.directory, prefix=f".{export.slug}-",
                                         suffix=".part", delete=False) as part:
            try:
                rows, size, complete_until = build(connection, export, part, None)
            except BaseException:
                os.unlink(part.name)
                raise
        os.replace(part.name, target)
        made = Fichier(str(target), rows, size, target.stat().st_size,
                       dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                       complete_until.isoformat(), f'W/"{export.slug}-{key}"')
        self._publish(description, made)
        self._drop_others(export.slug, key)
        return made

    def _publish(self, description: Path, made: Fichier) -> None:
        """The description is written last, and atomically: it is what says « built »."""
        part = description.with_name(f".{description.name}.part")
        part.write_text(json.dumps(asdict(made)), encoding="utf-8")
        os.replace(part, description)

    def _drop_others(self, slug: str, key: str) -> None:
        """Older versions' files are never asked again (a reader still streaming one keeps
        it open: removing its name does not cut the download)."""
        for old in self.directory.glob(f"{slug}-*"):
            if not old.name.startswith(f"{slug}-{key}."):
                old.unlink(missing_ok=True)


def changes(connection: Connection, export: Telechargement,
            modifie_apres: dt.datetime) -> tuple[IO[bytes], int, dt.datetime]:
    """A ``modified_after`` file, built for this request into a spooled temporary file
    (memory only while small): the gzip stream, its rows and its « complete until »."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (streamed later)
    try:
        rows, _, complete_until = build(connection, export, out, modifie_apres)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, rows, complete_until


def chunks(stream: IO[bytes], decompress: bool) -> Iterator[bytes]:
    """The gzip stream as it is (the client accepts gzip), or decompressed on the fly."""
    with stream:
        source = gzip.GzipFile(fileobj=stream, mode="rb") if decompress else stream
        while chunk := source.read(CHUNK):
            yield chunk
