"""The command line, as a person or a script uses it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from typer.testing import CliRunner

from cartographie import migrations
from cartographie.cli import app
from cartographie.settings import get_settings

runner = CliRunner()
BIN = Path(sys.executable).parent


@pytest.fixture
def broken_data(tmp_path, settings):
    """A data folder whose taxonomy has one unknown card."""
    import shutil

    shutil.copytree(settings.resolved_data_dir / "taxonomie", tmp_path / "taxonomie")
    path = tmp_path / "taxonomie" / "cartes" / "nutrition.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("slug: nutrition", "slug: nutri"),
                    encoding="utf-8")
    return tmp_path


def test_taxonomy_check_accepts_the_shipped_files():
    result = runner.invoke(app, ["taxonomy", "load", "--check"])
    assert result.exit_code == 0, result.output
    assert "7 thèmes, 12 cartes" in result.output


def test_taxonomy_errors_end_with_a_french_message_and_no_traceback(broken_data, environment):
    environment(CARTOGRAPHIE_DATA_DIR=str(broken_data))
    result = runner.invoke(app, ["taxonomy", "load", "--check"])
    assert result.exit_code == 1
    assert "nutrition.yaml:1 : carte inconnue « nutri »" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def environment(monkeypatch):
    """Set variables for one CLI call; settings are re-read."""

    def set_env(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()


def test_db_status_before_init_says_what_to_do(cluster, environment):
    environment(CARTOGRAPHIE_EMBEDDED_DATABASE="pas_encore_creee")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "lancez cartographie init" in result.output


def test_db_status_and_url_describe_the_embedded_database(cluster, database_url, environment):
    environment(CARTOGRAPHIE_EMBEDDED_DATABASE="cartographie_test")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "en marche" in result.output and "oui" in result.output
    head = ScriptDirectory.from_config(migrations.alembic_config(database_url)).get_current_head()
    assert head in result.output
    result = runner.invoke(app, ["db", "url"])
    assert result.output.strip() == database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_the_cards_over_http(database_url):
    """``cartographie serve`` is a real server: start it, ask it, stop it."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [str(BIN / "cartographie"), "serve", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/cartes", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert len(response.json()) == 12
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_cli_at_80_columns(engine, *arguments: str) -> str:
    """The real console script in an 80-column terminal, over the demo data."""
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "COLUMNS": "80", "LINES": "50"}
    done = subprocess.run([str(BIN / "cartographie"), *arguments], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_runs_fit_an_80_column_terminal_with_nothing_cut(demo_engine):
    listing = run_cli_at_80_columns(demo_engine, "runs")
    assert all(len(line) <= 80 for line in listing.splitlines()), listing
    assert "…" not in listing
    for word in ("source", "statut", "écartées", "finess", "vaccination", "ror"):
        assert word in listing
    with demo_engine.connect() as connection:
        first_run = connection.execute(text("SELECT min(id) FROM run")).scalar_one()
    detail = run_cli_at_80_columns(demo_engine, "runs", str(first_run))
    assert all(len(line) <= 80 for line in detail.splitlines()), detail
    assert "…" not in detail
    assert "finess-grand-est-20210108-fhir.ndjson.gz" in detail.replace("\n", "")
    assert "inchangées" in detail and "sha256" in detail


def test_quality_report_fits_80_columns_with_nothing_cut(demo_engine):
    """A table too wide for the terminal turns into blocks « colonne : valeur », never « qu… »."""
    report = run_cli_at_80_columns(demo_engine, "qualite")
    assert all(len(line) <= 80 for line in report.splitlines()), report
    assert "…" not in report
    assert "Offres publiées par carte" in report


def test_a_table_too_wide_for_80_columns_becomes_blocks(monkeypatch):
    from rich.console import Console

    from cartographie import cli

    terminal = Console(width=80, record=True)
    monkeypatch.setattr(cli, "console", terminal)
    reason = "même établissement FINESS et type équivalent, adresse et téléphone identiques"
    cli._print_table("Sources de l'offre 12", ("source", "clé", "active", "score", "raison"),
                     [("finess", "670780055", True, 1.0, reason)])
    shown = terminal.export_text()
    assert all(len(line) <= 80 for line in shown.splitlines()), shown
    assert "…" not in shown
    assert "clé    : 670780055" in shown and "raison : même établissement FINESS" in shown
    assert " ".join(shown.split()).endswith(reason.split()[-1])  # folded, never cut
