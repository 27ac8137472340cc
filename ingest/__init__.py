"""Ingestion of sources: one module per format, the run lifecycle and entity resolution."""
