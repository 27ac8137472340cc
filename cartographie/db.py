"""Where the database is and how to talk to it.

With ``DATABASE_URL`` set, that database is used as is. Without it, the embedded cluster is
started on demand, so every command "just works" on a fresh checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from cartographie.embedded import EmbeddedCluster
from cartographie.settings import Settings, get_settings


def embedded_cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(
        base_dir=settings.resolved_embedded_dir,
        database=settings.embedded_database,
        os_user=settings.embedded_os_user,
    )


def normalise_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def database_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The URL to use; starts the embedded cluster (and creates its database) if needed."""
    settings = settings or get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    cluster = embedded_cluster(settings)
    if start:
        cluster.start()
        cluster.ensure_database()
    return cluster.url()


# What a publication rewrites and the searches read (see analyse_published).
PUBLISHED_TABLES = ("offre", "offre_type_offre", "jeu_offre", "carte_offre", "structure",
                    "offre_source")


def analyse_published(connection: Connection) -> None:
    """Fresh planner statistics for the tables a publication rewrites, in its transaction.

    Why: on a fresh base the planner would otherwise plan the first searches on empty-table
    estimates (sequential scans, p50 265 ms instead of 7 ms) until autovacuum happens to
    analyse them about a minute later. Statistics are transactional: they appear with the
    data they describe.
    """
    for table in PUBLISHED_TABLES:
        connection.execute(text(f"ANALYZE {table}"))


def make_engine(url: str, *, jit: bool = True, connect_timeout: int | None = None) -> Engine:
    """An engine; ``jit=False`` for the public reads, many small queries on a large table.

    Past its cost threshold (reached by any national scan) PostgreSQL spends up to a second
    compiling a query that runs in a fraction of that: the API turns JIT off.
    """
    connect_args: dict = {} if jit else {"options": "-c jit=off"}
    if connect_timeout is not None:
        connect_args["connect_timeout"] = connect_timeout
    return create_engine(url, pool_pre_ping=True, future=True, connect_args=connect_args)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back on error."""
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
