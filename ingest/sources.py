"""Getting at a source: a local path or a URL, plain or gzip, with its checksum and encoding."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ingest.records import WrongFormat

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class SourceFile:
    path: Path
    emplacement: str
    sha256: str


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def fetched(
    location: str, timeout: float = 120.0, download: Callable[[str, Path], object] | None = None,
) -> Iterator[SourceFile]:
    """The source as a local file: downloaded to a temporary file first when it is a URL.

    ``download`` replaces the plain GET for sources whose URL is not one file (a FHIR
    searchset read page by page).
    """
    if not is_url(location):
        path = Path(location)
        if not path.is_file():
            raise WrongFormat(f"fichier introuvable : {location}")
        yield SourceFile(path, str(path.resolve()), sha256_of(path))
        return
    with tempfile.NamedTemporaryFile(prefix="cartographie-", suffix=".source") as handle:
        if download is not None:
            download(location, Path(handle.name))
            path = Path(handle.name)
            yield SourceFile(path, location, sha256_of(path))
            return
        try:
            with httpx.stream("GET", location, timeout=timeout, follow_redirects=True) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)
        except httpx.HTTPError as exc:
            raise WrongFormat(f"téléchargement impossible de {location} : {exc}") from exc
        handle.flush()
        path = Path(handle.name)
        yield SourceFile(path, location, sha256_of(path))


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when it is gzip (detected by content, not by name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


def detect_encoding(path: Path) -> str:
    """UTF-8 when the whole file decodes strictly, else Windows-1252 (older FINESS extracts)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    except (EOFError, gzip.BadGzipFile) as exc:
        raise WrongFormat(f"archive gzip tronquée ou illisible : {exc}") from exc
    return "utf-8"


def text_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """Lines of text, streamed; a truncated gzip archive fails the run instead of ending early."""
    number = 0
    try:
        with open_binary(path) as raw, io.TextIOWrapper(raw, encoding=encoding,
                                                        errors="strict", newline="") as text:
            for number, line in enumerate(text, start=1):  # noqa: B007 - read in except
                yield line
    except (EOFError, gzip.BadGzipFile) as exc:
        raise WrongFormat(f"archive gzip tronquée ou illisible : {exc}") from exc
    except UnicodeDecodeError as exc:
        raise WrongFormat(
            f"fichier illisible en {encoding} après la ligne {number} (octet "
            f"0x{exc.object[exc.start]:02x}) : ni UTF-8 ni Windows-1252"
        ) from exc


def binary_lines(path: Path) -> Iterator[bytes]:
    """Lines as bytes, for formats that check their own encoding line by line (NDJSON)."""
    try:
        with open_binary(path) as raw:
            yield from raw
    except (EOFError, gzip.BadGzipFile) as exc:
        raise WrongFormat(f"archive gzip tronquée ou illisible : {exc}") from exc
