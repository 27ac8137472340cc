"""The ingestible sources by name: how to recognise and parse each file, and the manifest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from cartographie import jeux
from cartographie.yamlsource import SourceError, line_of, read_yaml
from ingest import (
    annuaire_sante,
    finess,
    finess_csv,
    finess_fhir,
    finess_json,
    publish,
    ror,
    vaccination,
)
from ingest.records import OutOfScope, Record, Rejection, WrongFormat
from ingest.runner import RunReport, run_ingestion
from ingest.sources import binary_lines, detect_encoding, fetched, open_binary, text_lines

Parser = Callable[[Path, Path], Iterator[Record | Rejection | OutOfScope]]


def head_of(path: Path, size: int = 8192) -> bytes:
    with open_binary(path) as handle:
        return handle.read(size).lstrip(b"\xef\xbb\xbf \t\r\n")


def parse_finess(path: Path, data_dir: Path) -> Iterator[Record | Rejection | OutOfScope]:
    """Any of the three FINESS formats, recognised by content rather than by file name."""
    table = finess.categories(data_dir / "finess" / "categories.csv")
    head = head_of(path)
    if not head:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    if head.startswith(b"{") and (b'"pmej"' in head or b'"schemaVersion"' in head):
        return _streamed_json(path, table)
    if head.startswith(b"{"):
        return finess_fhir.parse(binary_lines(path), table)
    if head.startswith((b"finess;", b"structureet;", b"geolocalisation;")):
        encoding = detect_encoding(path)
        return finess_csv.parse(lambda: text_lines(path, encoding), table)
    raise WrongFormat(
        "format FINESS non reconnu : attendu un extrait etalab CSV (« finess;etalab;… »), "
        "le flux JSON « structures » ou un export FHIR NDJSON"
    )


def _streamed_json(path: Path, table) -> Iterator[Record | Rejection | OutOfScope]:
    with open_binary(path) as stream:
        yield from finess_json.parse(stream, table)


def parse_vaccination(path: Path, data_dir: Path) -> Iterator[Record | Rejection | OutOfScope]:
    return vaccination.parse(text_lines(path, detect_encoding(path)))


def parse_ror(path: Path, data_dir: Path) -> Iterator[Record | Rejection | OutOfScope]:
    types = ror.offer_types(data_dir / "ror" / "types_offre.csv")
    encoding = detect_encoding(path)
    return ror.parse(lambda: ror.resources_of(path, lambda p: text_lines(p, encoding)), types)


def parse_annuaire_sante(path: Path, data_dir: Path) -> Iterator[Record | Rejection | OutOfScope]:
    return annuaire_sante.parse(text_lines(path, detect_encoding(path)))


@dataclass(frozen=True)
class SourceKind:
    nom: str
    parser: Parser
    # How to bring a URL home when it is more than one file (a paged FHIR searchset).
    download: Callable[[str, Path], object] | None = None
    # Sources of offers feed the jeux; the Annuaire Santé feeds the bilan's professionals.
    publisher: Callable[..., dict[str, int]] = publish.publish
    offres: bool = True


SOURCES: dict[str, SourceKind] = {
    "finess": SourceKind("finess", parse_finess),
    "vaccination": SourceKind("vaccination", parse_vaccination),
    "ror": SourceKind("ror", parse_ror, download=ror.download_searchset),
    "annuaire-sante": SourceKind("annuaire-sante", parse_annuaire_sante,
                                 publisher=annuaire_sante.publish, offres=False),
}


def ingest(
    engine: Engine, source: str, location: str, data_dir: Path, *,
    accept_retirements: bool = False, progress: Callable[[int], None] | None = None,
) -> RunReport:
    """Ingest one file or URL of a named source: the single entry point of CLI and tests."""
    kind = SOURCES[source]
    with fetched(location, download=kind.download) as source_file:
        return run_ingestion(
            engine, source, source_file, lambda: kind.parser(source_file.path, data_dir),
            data_dir, accept_retirements=accept_retirements, progress=progress,
            after_publish=(lambda connection: jeux.refresh(connection, data_dir))
            if kind.offres else None,
            publisher=kind.publisher,
        )


@dataclass(frozen=True)
class ManifestEntry:
    source: str
    nom: str
    url: str
    demo: Path


def read_manifest(path: Path) -> list[ManifestEntry]:
    """``data/sources.yaml``: which sources ``ingest all`` reads, demo file and official URL."""
    document = read_yaml(path)
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceError([f"{path}:1 : une liste « sources: » est attendue"])
    problems, manifest = [], []
    for entry in entries:
        where = f"{path}:{line_of(entry)}"
        if not isinstance(entry, dict):
            problems.append(f"{where} : chaque source est un dictionnaire")
            continue
        missing = [k for k in ("source", "nom", "url", "demo") if not entry.get(k)]
        if missing:
            problems.append(f"{where} : champ(s) manquant(s) : {', '.join(missing)}")
        elif entry["source"] not in SOURCES:
            problems.append(f"{where} : source inconnue « {entry['source']} » "
                            f"(connues : {', '.join(SOURCES)})")
        elif not (path.parent / entry["demo"]).is_file():
            problems.append(f"{where} : fichier de démonstration introuvable : {entry['demo']}")
        else:
            manifest.append(ManifestEntry(entry["source"], entry["nom"], entry["url"],
                                          path.parent / entry["demo"]))
    if problems:
        raise SourceError(problems)
    return manifest
