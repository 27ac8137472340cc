"""HTTP interface of the service (FastAPI): public read API, and later the write API."""
