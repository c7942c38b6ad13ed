"""`db backup` and `db restore` (DESIGN §6): SQLite through its online backup API, PostgreSQL
through pg_dump and pg_restore. No streamlit.

A backup is written to a temporary file beside FILE and renamed at the end, so a failed backup
never leaves a half file. A restore checks the whole file before it touches the database, goes
only into a database whose Handoff tables hold no rows, and then migrates the schema to head.
Both leave one audit event.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, Table, create_engine, func, inspect, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the Handoff tables on SQLModel.metadata)
from core import clock
from core.services import audit
from db import migrate
from db.engine import database_url, get_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
ACTOR = "cli"
INSTALL_HINT = ("install the PostgreSQL client tools, the server's major version or newer "
                "(Debian/Ubuntu: apt-get install postgresql-client)")
LOCK_TIMEOUT = "30s"


class BackupError(Exception):
    """A refused or failed backup or restore; the message says why (the CLI's exit 1)."""


@dataclass(frozen=True)
class Backup:
    """What `backup` wrote: the file, its size and digest, and the rows of each table in it."""

    path: Path
    size: int
    sha256: str
    rows: dict[str, int]


@dataclass(frozen=True)
class Restore:
    """What `restore` did: the file, its kind, the rows now held, the schema before and after."""

    path: Path
    kind: str
    sha256: str
    target: str
    rows: dict[str, int]
    revision_from: str
    revision_to: str


def backup(file: Path, *, force: bool = False) -> Backup:
    """Copy DATABASE_URL to FILE (refused when FILE exists, unless force)."""
    url = _database_url()
    _check_destination(file, force)
    dump = _dump_sqlite if url.get_backend_name() == "sqlite" else _dump_postgres
    with _database_errors(url):
        with _staged(file) as partial:
            rows = dump(url, partial)
        written = Backup(path=file, size=file.stat().st_size, sha256=sha256(file), rows=rows)
        _audit("db.backup", file, {"file": str(file.absolute()), "bytes": written.size,
                                   "sha256": written.sha256})
    return written


def restore(file: Path) -> Restore:
    """Restore FILE into DATABASE_URL, which must hold no rows, then migrate it to head."""
    url = _database_url()
    kind, backend = backup_kind(file), url.get_backend_name()
    if kind != backend:
        raise BackupError(f"{file} is a {BACKENDS[kind]} backup and DATABASE_URL is "
                          f"{BACKENDS[backend]}: a {BACKENDS[kind]} backup restores only into "
                          f"{BACKENDS[kind]}")
    digest = sha256(file)
    load = _restore_sqlite if kind == "sqlite" else _restore_postgres
    with _database_errors(url):
        revision_from = load(file, url)
        get_engine().dispose()  # no pooled connection from before the restore stays in use
        migrate.upgrade()
        with get_engine().connect() as connection:
            revision_to, rows = _revision(connection), _row_counts(connection)
        _audit("db.restore", file, {"file": str(file.absolute()), "sha256": digest})
    return Restore(path=file, kind=kind, sha256=digest, target=_shown(url), rows=rows,
                   revision_from=revision_from, revision_to=revision_to)


def backup_kind(file: Path) -> str:
    """'sqlite' or 'postgresql', from the file's magic bytes; anything else is refused."""
    if not file.is_file():
        raise BackupError(f"{file}: no such file")
    with file.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if not head:
        raise BackupError(f"{file} is empty: not a Handoff backup")
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{file} is not a Handoff backup: neither a SQLite database nor a "
                      "pg_dump custom-format archive")


def sha256(file: Path) -> str:
    """The file's SHA-256, hex."""
    with file.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- shared ----------------------------------------------------------------------------------

def _database_url() -> URL:
    """DATABASE_URL, refused unless it is a SQLite file or PostgreSQL."""
    url = make_url(database_url())
    if url.get_backend_name() not in BACKENDS:
        raise BackupError(f"DATABASE_URL: {url.get_backend_name()} is not supported "
                          "(SQLite or PostgreSQL)")
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise BackupError("DATABASE_URL is an in-memory SQLite database: nothing outlives it")
    return url


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@contextmanager
def _database_errors(url: URL) -> Iterator[None]:
    """A database that cannot be reached, locked or read becomes a refusal naming it."""
    try:
        yield
    except DBAPIError as error:
        raise BackupError(f"{_shown(url)}: {error.orig}") from error


def _row_counts(connection: Connection) -> dict[str, int]:
    """Rows in each Handoff table the database has (alembic_version is not counted)."""
    present = set(inspect(connection).get_table_names())
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables if table.name in present
    }


def _revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at (None without alembic_version)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _check_known(revision: str | None, file: Path) -> str:
    """The backup's revision, refused when it is none or newer than this code knows."""
    if revision is None:
        raise BackupError(f"{file} holds no Handoff schema (no alembic_version table)")
    try:
        ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision)
    except CommandError:
        raise BackupError(f"{file} comes from a newer Handoff (schema revision {revision}); "
                          "upgrade Handoff before restoring it") from None
    return revision


def _refuse_rows(connection: Connection, url: URL) -> None:
    """Refuse a target whose Handoff tables hold rows, naming them."""
    holding = {name: rows for name, rows in sorted(_row_counts(connection).items()) if rows}
    if holding:
        tables = ", ".join(f"{name} ({rows:,} {'row' if rows == 1 else 'rows'})"
                           for name, rows in holding.items())
        fresh = "a new SQLite file" if url.get_backend_name() == "sqlite" else "createdb"
        raise BackupError(f"{_shown(url)} is not empty: {tables}; restore only into an empty "
                          f"database ({fresh})")


def _audit(action: str, file: Path, after: dict) -> None:
    """One audit event on DATABASE_URL, in its own transaction. It is written with the columns
    the database has, so a database whose schema is behind this code's (a backup before
    `db upgrade`) is audited too."""
    engine = get_engine()
    events = Table("audit_events", MetaData(), autoload_with=engine)
    row = {"at": clock.now(), "actor": ACTOR, "action": action, "object_type": "database",
           "object_id": file.name[:128], "after": after, "channel": audit.channel()}
    with engine.begin() as connection:
        connection.execute(events.insert().values(
            {name: value for name, value in row.items() if name in events.c}))


def _check_destination(file: Path, force: bool) -> None:
    """Refuse a FILE that exists (without force), is a directory, or has no directory."""
    if file.is_dir():
        raise BackupError(f"{file} is a directory")
    if file.exists() and not force:
        raise BackupError(f"{file} already exists; pass --force to overwrite it")
    if not file.parent.is_dir():
        raise BackupError(f"{file.parent}: no such directory")


@contextmanager
def _staged(file: Path) -> Iterator[Path]:
    """A temporary file beside FILE, renamed to FILE when the block succeeds, else removed."""
    handle, name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".partial", dir=file.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        _fsync(partial)
        os.replace(partial, file)
        _fsync(file.parent)
    finally:
        partial.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file or a directory to disk (the rename is durable only after both)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# --- SQLite ----------------------------------------------------------------------------------

def _dump_sqlite(url: URL, partial: Path) -> dict[str, int]:
    """Copy the SQLite database into partial through the online backup API."""
    source = Path(url.database)
    if not source.is_file():  # get_engine() would create an empty database there
        raise BackupError(f"no SQLite database at {source}")
    raw = get_engine().raw_connection()
    try:
        with closing(sqlite3.connect(partial)) as copy:
            # One step copies a single read transaction's snapshot; in WAL mode the writers carry
            # on meanwhile. (Step by step, every write in between would restart the copy.)
            raw.driver_connection.backup(copy)
            # The copy inherits the source's WAL flag; rollback mode makes it one whole file.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup of {source} failed: {error}") from error
    finally:
        raw.close()
    revision, rows = _verify_sqlite(partial, label=f"the copy of {source}")
    if revision is None:
        raise BackupError(f"{source} is not a Handoff database (no alembic_version); "
                          "run `db upgrade` first")
    return rows


def _restore_sqlite(file: Path, url: URL) -> str:
    """Copy the SQLite backup over the (empty) SQLite target; returns the backup's revision."""
    revision = _check_known(_verify_sqlite(file, label=str(file))[0], file)
    engine = get_engine()
    with engine.connect() as connection:
        _refuse_rows(connection, url)
    raw = engine.raw_connection()
    try:
        with closing(_open_read_only(file)) as source:
            source.backup(raw.driver_connection)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite restore of {file} failed: {error}") from error
    finally:
        raw.close()
    return revision


def _verify_sqlite(path: Path, label: str) -> tuple[str | None, dict[str, int]]:
    """Check a SQLite file whole (length, integrity_check); its revision and row counts."""
    _check_sqlite_length(path, label)
    engine = _read_only_engine(path)
    try:
        with engine.connect() as connection:
            problems = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{label} is a damaged SQLite database: {problems[0]}")
            return _revision(connection), _row_counts(connection)
    except DBAPIError as error:
        raise BackupError(f"{label} is a damaged SQLite database: {error.orig}") from None
    finally:
        engine.dispose()


def _check_sqlite_length(path: Path, label: str) -> None:
    """Refuse a SQLite file shorter than the page count its header records."""
    with path.open("rb") as handle:
        header = handle.read(100)
    if len(header) < 100:
        raise BackupError(f"{label} is truncated: {len(header)} bytes, shorter than a header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The header's page count holds only while its change counter matches (file format §1.3.7).
    expected = page_size * pages
    if pages and header[24:28] == header[92:96] and path.stat().st_size < expected:
        raise BackupError(f"{label} is truncated: {path.stat().st_size} bytes of {expected}")


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _read_only_engine(path: Path) -> Engine:
    """An engine on a SQLite file that can neither change nor create it."""
    return create_engine("sqlite://", creator=lambda: _open_read_only(path), poolclass=NullPool)


# --- PostgreSQL ------------------------------------------------------------------------------

def _dump_postgres(url: URL, partial: Path) -> dict[str, int]:
    """pg_dump the database into partial; the row counts come from pg_dump's own snapshot."""
    pg_dump = _tool("pg_dump", "backup")
    with get_engine().connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            if _revision(connection) is None:
                raise BackupError(f"{_shown(url)} is not a Handoff database (no "
                                  "alembic_version); run `db upgrade` first")
            # pg_dump reads the very snapshot this transaction counts, while it stays open.
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            rows = _row_counts(connection)
            _run(url, [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                       f"--file={partial}", f"--dbname={_libpq_uri(url)}"])
    return rows


def _restore_postgres(file: Path, url: URL) -> str:
    """pg_restore the archive into the (empty) target; returns the archive's revision."""
    pg_restore = _tool("pg_restore", "restore")
    # Reading every block (to nowhere) finds a truncated archive before anything changes.
    _run(url, [pg_restore, f"--file={os.devnull}", str(file)],
         failure=lambda error: f"{file} is not a whole pg_dump archive: {error}")
    revision = _check_known(_archive_revision(url, pg_restore, file), file)
    cleared = _clear_empty_schema(get_engine(), url)
    left = (f"; the database's empty Handoff tables ({', '.join(cleared)}) were removed: run "
            "`db upgrade` to create them again" if cleared else "")
    # --clean --if-exists: also replaces what an empty schema holds beside its tables.
    _run(url, [pg_restore, "--no-owner", "--exit-on-error", "--single-transaction", "--clean",
               "--if-exists", "--no-password", f"--dbname={_libpq_uri(url)}", str(file)],
         failure=lambda error: f"nothing was restored from {file}: {error}{left}")
    return revision


def _archive_revision(url: URL, pg_restore: str, file: Path) -> str | None:
    """The alembic_version row inside the archive, read without touching any database."""
    script = _run(url, [pg_restore, "--data-only", "--table=alembic_version", "--file=-",
                        str(file)])
    lines = script.splitlines()
    for number, line in enumerate(lines[:-1]):
        if line.startswith("COPY ") and "alembic_version" in line and lines[number + 1] != "\\.":
            return lines[number + 1].strip()
    return None


def _clear_empty_schema(engine: Engine, url: URL) -> list[str]:
    """Drop the target's Handoff tables after checking, under lock, that they hold no rows.

    An empty schema (from `db upgrade`, say) may be newer than the backup; the backup's own
    schema is restored in its place and then migrated to head.
    """
    names = [table.name for table in SQLModel.metadata.sorted_tables] + ["alembic_version"]
    with engine.begin() as connection:
        present = set(inspect(connection).get_table_names())
        tables = [name for name in names if name in present]
        if not tables:
            return []
        quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in tables)
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        connection.exec_driver_sql(f"LOCK TABLE {quoted} IN ACCESS EXCLUSIVE MODE")
        _refuse_rows(connection, url)
        connection.exec_driver_sql(f"DROP TABLE {quoted} CASCADE")
    return tables


def _tool(name: str, purpose: str) -> str:
    """The path of a PostgreSQL client program, or a refusal saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH; a PostgreSQL {purpose} needs it: "
                          f"{INSTALL_HINT}")
    return path


def _libpq_uri(url: URL) -> str:
    """DATABASE_URL for libpq: no `+psycopg` driver part, no password (see _run)."""
    # Built afresh: URL.set(password=None) would keep the password.
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                      database=url.database, query=url.query)
    return bare.render_as_string(hide_password=False)


def _run(url: URL, args: list[str], failure: Callable[[str], str] | None = None) -> str:
    """Run a PostgreSQL client program; its stdout, or its stderr as a refusal."""
    env = dict(os.environ)
    if url.password is not None:  # in the environment, never on a command line others can see
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        error = result.stderr.strip() or f"{Path(args[0]).name} exited {result.returncode}"
        raise BackupError(failure(error) if failure else error)
    return result.stdout
