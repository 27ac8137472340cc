"""A private PostgreSQL + PostGIS cluster that the service creates and runs itself.

Why: a newcomer must be able to run the service and its tests with no database to set up.
The cluster lives in a project-local folder, listens only on a Unix socket in that folder
(no TCP port to collide with) and trusts only local connections. PostgreSQL refuses to run
as root, so when we are root the server runs as an unprivileged system account.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "cartographie"
PORT = 5432
# A Unix socket path is limited to 107 bytes; past that we use a short folder in /tmp.
MAX_SOCKET_PATH = 100

INSTALL_HINT = (
    "Installez PostgreSQL et PostGIS : sous Debian/Ubuntu, "
    "« sudo apt-get install postgresql postgresql-15-postgis-3 » (adaptez 15 à votre version "
    "de PostgreSQL). Ailleurs, lancez la base avec « docker compose up db » et définissez "
    "DATABASE_URL."
)


class EmbeddedDatabaseError(RuntimeError):
    """Something prevents the embedded cluster from running; the message says what to do."""


def find_bindir(debian_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The folder of ``initdb``/``pg_ctl``: on PATH, else Debian's newest versioned folder."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versioned = sorted(
        debian_root.glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versioned:
        return versioned[-1].parent
    raise EmbeddedDatabaseError(
        "PostgreSQL est introuvable (ni « pg_ctl » ni « initdb » sur cette machine). "
        + INSTALL_HINT
    )


@dataclass
class EmbeddedCluster:
    base_dir: Path
    database: str = "cartographie"
    os_user: str = "postgres"

    def __post_init__(self) -> None:
        # The socket folder goes into a connection string: it must be absolute.
        self.base_dir = Path(self.base_dir).resolve()

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgresql.log"

    @property
    def socket_dir(self) -> Path:
        local = self.base_dir / "run"
        if len(str(local / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return local
        digest = hashlib.sha1(str(self.base_dir.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"cartographie-{digest}"

    # -- running commands as the right account -------------------------------------------

    def _server_account(self) -> pwd.struct_passwd | None:
        """The account that owns and runs the server: ``None`` means ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.os_user)
        except KeyError as exc:
            raise EmbeddedDatabaseError(
                f"Le compte système « {self.os_user} » n'existe pas : PostgreSQL refuse de "
                "tourner en root. Créez ce compte (il est créé par le paquet « postgresql ») ou "
                "choisissez-en un autre avec CARTOGRAPHIE_EMBEDDED_OS_USER."
            ) from exc

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        account = self._server_account()
        command = [str(find_bindir() / args[0]), *args[1:]]
        kwargs: dict = {}
        if account is not None:
            kwargs = {
                "user": account.pw_uid,
                "group": account.pw_gid,
                "extra_groups": [],
                "env": {**os.environ, "HOME": account.pw_dir, "USER": account.pw_name},
                "cwd": "/",
            }
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            output = result.stderr.strip() or result.stdout.strip()
            raise EmbeddedDatabaseError(
                f"« {' '.join(args[:2])} » a échoué : {output} (journal : {self.log_file})"
            )
        return result

    def _prepare_folders(self) -> None:
        account = self._server_account()
        for folder in (self.base_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if account is None:
            return
        self._check_reachable(account)
        for folder in (self.base_dir, self.socket_dir):
            os.chown(folder, account.pw_uid, account.pw_gid)
            folder.chmod(0o700)
        if self.log_file.exists():
            os.chown(self.log_file, account.pw_uid, account.pw_gid)

    def _check_reachable(self, account: pwd.struct_passwd) -> None:
        """The server account must be able to walk down to the project folder."""
        for parent in self.base_dir.resolve().parents:
            mode = parent.stat()
            owned = mode.st_uid == account.pw_uid
            if not owned and not mode.st_mode & 0o001:
                raise EmbeddedDatabaseError(
                    f"Le compte « {account.pw_name} » qui fait tourner PostgreSQL ne peut pas "
                    f"traverser le dossier {parent} (droits {oct(mode.st_mode & 0o777)}). "
                    f"Donnez-lui l'accès (chmod o+x {parent}) ou placez la base ailleurs avec "
                    "CARTOGRAPHIE_EMBEDDED_DIR."
                )

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def initialise(self) -> None:
        self._prepare_folders()
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-locale",
        )
        settings = (
            "\n# cartographie : grappe privée, socket Unix seulement\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            f"port = {PORT}\n"
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(settings)

    def start(self) -> None:
        """Create the cluster on first use, then start it; a no-op when it already runs."""
        if not self.initialised:
            self.initialise()
        if self.is_running():
            return
        self._prepare_folders()
        self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
            "-w", "-t", "60", "-o", f"-k {self.socket_dir}",
        )

    def create_standby(self, primary: EmbeddedCluster) -> None:
        """Make this folder a streaming replica of ``primary`` (which must be running).

        ``pg_basebackup -R`` copies the primary and writes the standby signal and the
        connection to follow; ``start`` then runs it read-only on its own socket. Used to
        exercise ``DATABASE_READ_URL`` against a real replica.
        """
        self._prepare_folders()
        self._run("pg_basebackup", "-D", str(self.data_dir), "-h", str(primary.socket_dir),
                  "-p", str(PORT), "-U", SUPERUSER, "-X", "stream", "-R", "-c", "fast")

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")

    def url(self, database: str | None = None) -> str:
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{database or self.database}"
            f"?host={self.socket_dir}&port={PORT}"
        )

    def connect_admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname="postgres",
            autocommit=True,
        )

    def database_exists(self, database: str | None = None) -> bool:
        with self.connect_admin() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database or self.database,)
            ).fetchone()
        return row is not None

    def ensure_database(self, database: str | None = None) -> None:
        """Create the database if missing and check that PostGIS can be installed in it."""
        name = database or self.database
        with self.connect_admin() as conn:
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            if available is None:
                raise EmbeddedDatabaseError(
                    "PostgreSQL tourne mais l'extension PostGIS n'est pas installée. "
                    + INSTALL_HINT
                )
            if not self.database_exists(name):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, database: str) -> None:
        with self.connect_admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )

    def status(self) -> dict[str, str]:
        return {
            "dossier": str(self.base_dir),
            "initialisée": "oui" if self.initialised else "non",
            "en marche": "oui" if self.is_running() else "non",
            "socket": str(self.socket_dir),
            "url": self.url(),
        }
