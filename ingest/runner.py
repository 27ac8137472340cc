"""The life of one ingestion run: stage, then publish in one transaction, or change nothing.

1. The run is recorded (committed at once, so a failure is visible in ``cartographie runs``).
2. Parsed records and rejected rows are COPYed into session-private staging tables.
3. One transaction publishes: source records, structures, offers, provenance, history,
   retirements, territory codes, quarantine and the run's counts. If anything fails, or the
   process is killed, PostgreSQL rolls it back: what was published stays as it was.

A session advisory lock per source keeps two runs of one source apart (the second waits);
a run left
« en_cours » by a killed process is marked as interrupted by the next one.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from cartographie.db import analyse_published
from ingest import dates, publish
from ingest.dates import DataDate
from ingest.records import OutOfScope, Record, Rejection, WrongFormat
from ingest.sources import SourceFile

# A parser may also say, once, the date its file states for its data (``DataDate``).
Parsed = Iterable[Record | Rejection | OutOfScope | DataDate]
PROGRESS_EVERY = 5000
LOCK_WAIT_SECONDS = 120
MAX_REJECTED_TEXT = 2000


class IngestionError(Exception):
    """The run failed; the message says why in French. Nothing was published."""

    def __init__(self, run_id: int | None, message: str):
        self.run_id = run_id
        super().__init__(message)


@dataclass
class RunReport:
    run_id: int
    source: str
    lus: int = 0
    hors_champ: int = 0
    quarantaines: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    date_declaree: dt.date | None = None  # what the file says of its own data


def _lock_key(source: str) -> int:
    return zlib.crc32(f"cartographie-ingest-{source}".encode())


def _start(connection: Connection, source: str, source_file: SourceFile) -> int:
    ready = connection.execute(text("""
        SELECT EXISTS (SELECT 1 FROM type_offre) AND EXISTS (SELECT 1 FROM commune)
    """)).scalar_one()
    if not ready:
        raise IngestionError(None, "la base n'est pas prête (ni taxonomie ni territoires) : "
                                   "lancez d'abord « cartographie init »")
    # If this process dies, the server notices within a second and rolls the run back,
    # instead of finishing a long statement first and holding the source's lock meanwhile.
    connection.execute(text("SET client_connection_check_interval = '1s'"))
    connection.execute(text(f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _lock_key(source)})
    except OperationalError as exc:
        raise IngestionError(
            None, f"une autre ingestion de la source « {source} » est en cours "
                  f"(attente de {LOCK_WAIT_SECONDS} s dépassée)"
        ) from exc
    connection.execute(text("SET lock_timeout = 0"))
    connection.execute(
        text("""
            UPDATE run SET statut = 'echoue', fin = now(),
                message = 'interrompue : le processus s''est arrêté avant la fin'
            WHERE source = :source AND statut = 'en_cours'
        """),
        {"source": source},
    )
    run_id = connection.execute(
        text("""
            INSERT INTO run (source, emplacement, empreinte_sha256)
            VALUES (:source, :emplacement, :sha256) RETURNING id
        """),
        {"source": source, "emplacement": source_file.emplacement, "sha256": source_file.sha256},
    ).scalar_one()
    connection.commit()
    return run_id


def stage(connection: Connection, items: Parsed, report: RunReport,
          progress: Callable[[int], None] | None = None) -> None:
    """COPY parsed records into the session's ``staging`` table, rejected rows beside them.

    The caller commits: a national run right away, an ARS import only with its publication.
    """
    connection.execute(text("""
        CREATE TEMP TABLE IF NOT EXISTS staging (ligne int, cle text, brut jsonb, champs jsonb,
            lon float8, lat float8);
        CREATE TEMP TABLE IF NOT EXISTS staging_rejet (ligne int, ressource text, raison text,
            contenu text);
        TRUNCATE staging, staging_rejet;
    """))
    # One COPY at a time per connection: rejected rows wait in memory (their text is capped).
    rejections: list[tuple] = []
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy("COPY staging (ligne, cle, brut, champs, lon, lat) FROM STDIN") as copy:
            for item in items:
                if isinstance(item, DataDate):
                    report.date_declaree = item.jour
                    continue
                report.lus += 1
                if progress and report.lus % PROGRESS_EVERY == 0:
                    progress(report.lus)
                if isinstance(item, Record):
                    copy.write_row((item.ligne, item.cle, orjson.dumps(item.brut).decode(),
                                    orjson.dumps(item.champs).decode(), item.lon, item.lat))
                elif isinstance(item, Rejection):
                    content = item.contenu[:MAX_REJECTED_TEXT] if item.contenu else None
                    rejections.append((item.ligne, item.ressource, item.raison, content))
                else:
                    report.hors_champ += 1
        rejected = "COPY staging_rejet (ligne, ressource, raison, contenu) FROM STDIN"
        with cursor.copy(rejected) as copy:
            for row in rejections:
                copy.write_row(row)
    # A key seen twice in one file: the first occurrence wins, the others are quarantined.
    connection.execute(text("""
        WITH doubles AS (
            DELETE FROM staging s USING staging first
            WHERE s.cle = first.cle AND s.ligne > first.ligne
            RETURNING s.ligne, s.cle, s.brut)
        INSERT INTO staging_rejet (ligne, ressource, raison, contenu)
        SELECT ligne, cle, 'identifiant déjà présent plus haut dans le fichier', brut::text
        FROM doubles
    """))
    if report.lus == 0:
        raise WrongFormat("fichier vide : aucune ligne à lire")


def date_data(connection: Connection, report: RunReport, emplacement: str) -> None:
    """Record on the run the day its data describes (``ingest.dates``), or NULL."""
    latest_row = connection.execute(text("""
        SELECT max(left(champs #>> '{attributs,date_maj}', 10)) FROM staging
        WHERE champs #>> '{attributs,date_maj}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
          AND left(champs #>> '{attributs,date_maj}', 10) <= to_char(current_date, 'YYYY-MM-DD')
    """)).scalar_one()
    chosen = dates.choose(report.date_declaree, emplacement, dates.parse_day(latest_row))
    connection.execute(
        text("UPDATE run SET donnees_du = :jour, donnees_du_selon = :selon WHERE id = :run"),
        {"jour": chosen.jour if chosen else None, "selon": chosen.selon if chosen else None,
         "run": report.run_id})


def finish(connection: Connection, report: RunReport, statut: str, message: str | None) -> None:
    report.quarantaines = connection.execute(text("""
        INSERT INTO quarantaine (run_id, ligne, ressource, raison, contenu)
        SELECT :run, ligne, ressource, raison, contenu FROM staging_rejet
    """), {"run": report.run_id}).rowcount
    counts = report.counts
    connection.execute(
        text("""
            UPDATE run SET statut = :statut, fin = now(), message = :message, lus = :lus,
                inseres = :inseres, mis_a_jour = :mis_a_jour, inchanges = :inchanges,
                retires = :retires, quarantaines = :quarantaines
            WHERE id = :run
        """),
        {"statut": statut, "message": message, "lus": report.lus, "run": report.run_id,
         "inseres": counts.get("inseres", 0), "mis_a_jour": counts.get("mis_a_jour", 0),
         "inchanges": counts.get("inchanges", 0), "retires": counts.get("retires", 0),
         "quarantaines": report.quarantaines},
    )


def run_ingestion(
    engine: Engine, source: str, source_file: SourceFile, parse: Callable[[], Parsed],
    data_dir: Path, *,
    accept_retirements: bool = False, progress: Callable[[int], None] | None = None,
    after_publish: Callable[[Connection], object] | None = None,
    publisher: Callable[..., dict[str, int]] = publish.publish,
) -> RunReport:
    """Run one ingestion end to end; raise ``IngestionError`` (nothing published) on failure.

    ``publisher`` turns the staged records into published rows (the offers by default; the
    Annuaire Santé publishes places of practice instead).

    ``after_publish`` runs inside the publishing transaction when the run changed something
    (the jeux d'offres are recomputed there, so that cards and offers never disagree).
    """
    with engine.connect() as connection:
        run_id = _start(connection, source, source_file)
        report = RunReport(run_id=run_id, source=source)
        try:
            stage(connection, parse(), report, progress)
            connection.commit()
            with connection.begin():
                report.counts = publisher(
                    connection, source, run_id, data_dir, accept_retirements=accept_retirements
                )
                changed = sum(report.counts[k] for k in ("inseres", "mis_a_jour", "retires"))
                if after_publish is not None and changed:
                    after_publish(connection)
                if changed:
                    analyse_published(connection)
                date_data(connection, report, source_file.emplacement)
                message = f"{report.hors_champ} ligne(s) hors du champ de la prévention"
                finish(connection, report, "reussi", message)
            return report
        except Exception as exc:
            connection.rollback()
            if isinstance(exc, WrongFormat | publish.UnsafeRun):
                message = str(exc)
            else:
                first_lines = " ".join(str(exc).splitlines()[:2])
                message = f"erreur inattendue : {exc.__class__.__name__}: {first_lines}"
            with connection.begin():
                connection.execute(text("""
                    CREATE TEMP TABLE IF NOT EXISTS staging_rejet (ligne int, ressource text,
                        raison text, contenu text)
                """))
                report.counts = {}
                finish(connection, report, "echoue", message)
            raise IngestionError(run_id, message) from exc
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                               {"key": _lock_key(source)})
            connection.commit()
