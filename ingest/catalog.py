"""The ingestible sources by name: how to recognise and parse each file, and the manifest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ingest import finess, finess_fhir
from ingest.records import OutOfScope, Record, Rejection, WrongFormat
from ingest.runner import RunReport, run_ingestion
from ingest.sources import fetched, open_binary, text_lines

Parser = Callable[[Path, Path], Iterator[Record | Rejection | OutOfScope]]


def first_meaningful_byte(path: Path) -> bytes:
    with open_binary(path) as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1]


def parse_finess(path: Path, data_dir: Path) -> Iterator[Record | Rejection | OutOfScope]:
    """Any FINESS format, recognised by content: FHIR NDJSON for now."""
    table = finess.categories(data_dir / "finess" / "categories.csv")
    first = first_meaningful_byte(path)
    if first == b"{":
        return finess_fhir.parse(text_lines(path), table)
    if not first:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    raise WrongFormat(
        "format FINESS non reconnu : un export FHIR NDJSON (une ressource JSON par ligne) "
        "est attendu"
    )


@dataclass(frozen=True)
class SourceKind:
    nom: str
    parser: Parser


SOURCES: dict[str, SourceKind] = {
    "finess": SourceKind("finess", parse_finess),
}


def ingest(
    engine: Engine, source: str, location: str, data_dir: Path, *,
    accept_retirements: bool = False, progress: Callable[[int], None] | None = None,
) -> RunReport:
    """Ingest one file or URL of a named source: the single entry point of CLI and tests."""
    kind = SOURCES[source]
    with fetched(location) as source_file:
        return run_ingestion(
            engine, source, source_file, lambda: kind.parser(source_file.path, data_dir),
            accept_retirements=accept_retirements, progress=progress,
        )
