"""Domain core of the cartographie service: settings, database, model, taxonomy, territories.

This package imports no HTTP framework and parses no source format: ``api``, ``maps`` and
``ingest`` build on it, never the other way round.
"""
