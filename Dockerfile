# The cartographie service image, used by docker-compose.yml (api, migrate, ingest).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY cartographie ./cartographie
COPY ingest ./ingest
COPY api ./api
COPY maps ./maps
RUN pip install .

COPY data ./data
ENV CARTOGRAPHIE_PROJECT_DIR=/app

RUN useradd --system --home /app cartographie
USER cartographie
EXPOSE 8000
CMD ["cartographie", "serve", "--host", "0.0.0.0", "--port", "8000"]
