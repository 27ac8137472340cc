"""Bringing a database to a working state: schema, territories, taxonomy, jeux d'offres.

One function for ``cartographie init``, the tests and the benchmarks, so that all three run
on a database built the same way. Idempotent.
"""

from __future__ import annotations

from pathlib import Path

from cartographie import contexte, jeux, migrations, taxonomy, territoires
from cartographie.db import make_engine


def initialise(url: str, data_dir: Path) -> dict[str, int]:
    """Migrate, then load the shipped reference data in one transaction; returns counts."""
    migrations.upgrade(url)
    content = taxonomy.read_taxonomy(data_dir / "taxonomie")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            counts = territoires.load_territoires(connection, data_dir / "territoires")
            counts |= contexte.load_contexte(connection, data_dir / "couverture")
            counts |= taxonomy.load_taxonomy(connection, content)
            counts["jeux"] = len(jeux.refresh(connection, data_dir))
    finally:
        engine.dispose()
    return counts
