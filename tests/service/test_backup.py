"""`db backup` and `db restore` as real processes with the real tools (no mocks): SQLite while the
app serves and a writer writes, PostgreSQL (with TEST_DATABASE_URL), and every refusal."""

import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from core import services
from core.services.leads import log_touch
from db import migrate
from db.backup import _libpq_uri
from db.engine import session_scope
from db.models import AuditEvent, Lead
from tests.browser.serving import served_demo

ROOT = Path(__file__).resolve().parents[2]
DEMO_LEADS = 300
HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
WRITER_TABLES = ("touches", "audit_events")  # what the writer below adds to
CHANGE_COUNTER = "data_changes"  # the writer moves it on with every touch
needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                    reason="PostgreSQL backups need TEST_DATABASE_URL")


def cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m core.cli ...` against a database, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database_url, **env}, timeout=600,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    """The stdout of a command that must have succeeded."""
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Assert exit 1 with one error on stderr that says each fragment."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    for fragment in fragments:
        assert fragment in result.stderr


def snapshot(database_url: str) -> dict[str, list[dict]]:
    """Every table's rows (alembic_version too), each table in primary-key order."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {
                name: [dict(row) for row in connection.execute(text(
                    f"SELECT * FROM {name} ORDER BY "
                    + ", ".join(inspector.get_pk_constraint(name)["constrained_columns"])
                )).mappings()]
                for name in inspector.get_table_names()
            }
    finally:
        engine.dispose()


def without(rows: dict[str, list[dict]], action: str) -> dict[str, list[dict]]:
    """The snapshot without the audit events of one action (a backup's or a restore's own)."""
    events = [row for row in rows["audit_events"] if row["action"] != action]
    return {**rows, "audit_events": events}


def audit_events(database_url: str, action: str) -> list[AuditEvent]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.execute(
                select(AuditEvent).where(AuditEvent.action == action)).scalars())
    finally:
        engine.dispose()


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll until condition() holds; fail naming what did not happen by the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def leftovers(directory: Path) -> list[Path]:
    """Temporary files a backup left behind (there must be none)."""
    return list(directory.glob(".*.partial"))


class TouchWriter(threading.Thread):
    """Logs calls through the app's own service, one transaction each, on its own engine."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.engine = create_engine(database_url, connect_args={"timeout": 30})
        self.begun = 0  # transactions started: no backup can hold more
        self.written = 0  # transactions committed: a later backup holds at least these
        self.errors: list[BaseException] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            with session_scope(self.engine) as session:
                actor = services.get_actor(session=session, username="sofia")
                lead_ids = list(session.execute(select(Lead.id)).scalars())
            for lead_id in itertools.cycle(lead_ids):
                if self._stopping.is_set():
                    return
                self.begun += 1
                with session_scope(self.engine) as session:  # a touch and its audit event
                    log_touch(session=session, actor=actor, lead_id=lead_id, kind="call")
                self.written += 1
        except BaseException as error:  # reported by the test, not lost in the thread
            self.errors.append(error)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=60)
        self.engine.dispose()


def running(writer: TouchWriter, beyond: int) -> Callable[[], bool]:
    """True once the writer has written more than `beyond` rows (or failed)."""
    return lambda: writer.written > beyond or bool(writer.errors)


def health(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        return response.status


def test_sqlite_backup_while_served_and_written_restores_a_consistent_copy(tmp_path):
    source = f"sqlite:///{tmp_path / 'live.db'}"
    backup_file = tmp_path / "live.backup"
    with served_demo(source, leads=DEMO_LEADS) as app_url:
        seeded = snapshot(source)
        writer = TouchWriter(source)
        writer.start()
        try:
            wait_for(running(writer, 20), "20 writes before the backup")
            written_before = writer.written
            result = cli(source, "db", "backup", str(backup_file))
            begun_after = writer.begun
            wait_for(running(writer, begun_after), "a write after the backup")
        finally:
            writer.stop()
        assert health(app_url) == 200
    assert not writer.errors
    out = ok(result)
    assert integrity(backup_file) == "ok"
    assert not leftovers(tmp_path)

    target = tmp_path / "restored.db"
    restore_out = ok(cli(f"sqlite:///{target}", "db", "restore", str(backup_file)))
    assert f"schema at head ({HEAD})" in restore_out
    assert integrity(target) == "ok"
    live, restored = snapshot(source), without(snapshot(f"sqlite:///{target}"), "db.restore")
    # Every table the writer left alone is the source's exactly.
    assert set(restored) == set(live)
    for table in set(live) - set(WRITER_TABLES) - {CHANGE_COUNTER}:
        assert restored[table] == live[table], table
    # The copy's change counter is at or past every row it stamped, so a reader's cache of the
    # copy never misses a change.
    [counter] = restored[CHANGE_COUNTER]
    assert counter["seq"] >= max(row["change_seq"] for row in restored["touches"])
    # The writer's tables hold a prefix of its commits: all that were in before the backup began,
    # none after it ended, and never a touch without its audit event.
    for table in WRITER_TABLES:
        assert restored[table] == live[table][:len(restored[table])], table
    touches = len(restored["touches"]) - len(seeded["touches"])
    events = len(restored["audit_events"]) - len(seeded["audit_events"])
    assert written_before <= touches <= begun_after
    assert events == touches

    size = backup_file.stat().st_size
    rows = sum(len(restored[table.name]) for table in SQLModel.metadata.sorted_tables)
    assert f"wrote {backup_file}: {size:,} bytes, {len(SQLModel.metadata.tables)} tables, " \
           f"{rows:,} rows" in out
    digest = out.split("sha256 ")[1].strip()
    [backed_up] = audit_events(source, "db.backup")
    assert (backed_up.actor, backed_up.object_id) == ("cli", backup_file.name)
    assert backed_up.after == {"file": str(backup_file), "bytes": size, "sha256": digest}
    [restored_event] = audit_events(f"sqlite:///{target}", "db.restore")
    assert restored_event.actor == "cli"
    assert restored_event.after == {"file": str(backup_file), "sha256": digest}


def test_an_older_backup_is_restored_and_upgraded_to_head(tmp_path):
    old = f"sqlite:///{tmp_path / 'old.db'}"
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "0003"], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": old}, timeout=120)
    ok(cli(old, "db", "backup", str(tmp_path / "old.backup")))
    target = f"sqlite:///{tmp_path / 'new.db'}"
    out = ok(cli(target, "db", "restore", str(tmp_path / "old.backup")))
    assert f"schema upgraded from 0003 to {HEAD} (head)" in out
    assert snapshot(target)["alembic_version"] == [{"version_num": HEAD}]
    assert set(snapshot(target)) >= set(SQLModel.metadata.tables)


# --- PostgreSQL --------------------------------------------------------------------------------

@contextmanager
def scratch_databases(*names: str) -> Iterator[list[str]]:
    """Fresh databases of these names beside TEST_DATABASE_URL's; dropped afterwards."""
    server = make_url(os.environ["TEST_DATABASE_URL"])
    # The maintenance database: the test database itself is left alone.
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    drop()
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield [server.set(database=name).render_as_string(hide_password=False)
               for name in names]
    finally:
        drop()
        admin.dispose()


@pytest.fixture(scope="module")
def postgres_round_trip(tmp_path_factory) -> Iterator[dict]:
    """A seeded PostgreSQL source, its backup, and its restore into an upgraded empty database."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL backups need TEST_DATABASE_URL")
    archive = tmp_path_factory.mktemp("pg") / "handoff.pgdump"
    with scratch_databases("test_backup_src", "test_backup_dst") as (source, target):
        ok(cli(source, "db", "upgrade"))
        ok(cli(source, "demo", "seed", "--leads", str(DEMO_LEADS)))
        backup_out = ok(cli(source, "db", "backup", str(archive)))
        # An empty schema at head in the target: the restore replaces it by the backup's.
        ok(cli(target, "db", "upgrade"))
        restore_out = ok(cli(target, "db", "restore", str(archive)))
        yield {"source": source, "target": target, "archive": archive,
               "backup_out": backup_out, "restore_out": restore_out}


@needs_postgres
def test_postgres_backup_restores_every_row_into_an_empty_database(postgres_round_trip):
    run = postgres_round_trip
    archive, source, target = run["archive"], run["source"], run["target"]
    assert archive.read_bytes().startswith(b"PGDMP")
    assert f"wrote {archive}: {archive.stat().st_size:,} bytes" in run["backup_out"]
    assert f"schema at head ({HEAD})" in run["restore_out"]
    live, restored = snapshot(source), snapshot(target)
    assert without(restored, "db.restore") == without(live, "db.backup")
    # The restore's own event took the next id: the sequences came back with the rows.
    [event] = audit_events(target, "db.restore")
    assert event.id == max(row["id"] for row in restored["audit_events"])
    [backed_up] = audit_events(source, "db.backup")
    assert backed_up.after["sha256"] == event.after["sha256"]


@needs_postgres
def test_postgres_refusals_change_nothing(postgres_round_trip, tmp_path):
    archive, target = postgres_round_trip["archive"], postgres_round_trip["target"]
    before = snapshot(target)
    refused(cli(target, "db", "restore", str(archive)), "is not empty", "leads (300 rows)",
            "users (12 rows)")
    truncated = tmp_path / "truncated.pgdump"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused(cli(target, "db", "restore", str(truncated)), "is not a whole pg_dump archive")
    sqlite_file = tmp_path / "a.sqlite"
    with closing(sqlite3.connect(sqlite_file)) as connection:
        connection.execute("CREATE TABLE t (x)")
    refused(cli(target, "db", "restore", str(sqlite_file)),
            "is a SQLite backup and DATABASE_URL is PostgreSQL")
    assert snapshot(target) == before


# --- refusals (no server needed) ---------------------------------------------------------------

NO_SERVER = "postgresql+psycopg://postgres@127.0.0.1:1/test_backup_none"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> dict:
    """A small seeded SQLite database and its backup."""
    directory = tmp_path_factory.mktemp("seeded")
    url = f"sqlite:///{directory / 'seeded.db'}"
    ok(cli(url, "db", "upgrade"))
    ok(cli(url, "demo", "seed", "--leads", "30"))
    ok(cli(url, "db", "backup", str(directory / "seeded.backup")))
    return {"url": url, "backup": directory / "seeded.backup"}


def test_restore_into_a_database_holding_rows_is_refused_naming_the_tables(seeded):
    before = snapshot(seeded["url"])
    refused(cli(seeded["url"], "db", "restore", str(seeded["backup"])), "is not empty",
            "leads (30 rows)", "users (12 rows)", "agreements (1 row)")
    assert snapshot(seeded["url"]) == before


def test_a_backup_restores_only_into_its_own_kind_of_database(seeded, tmp_path):
    refused(cli(NO_SERVER, "db", "restore", str(seeded["backup"])),
            "is a SQLite backup and DATABASE_URL is PostgreSQL")
    archive = tmp_path / "fake.pgdump"
    archive.write_bytes(b"PGDMP" + os.urandom(2000))
    target = tmp_path / "target.db"
    refused(cli(f"sqlite:///{target}", "db", "restore", str(archive)),
            "is a PostgreSQL backup and DATABASE_URL is SQLite")
    assert not target.exists()


def _truncated(backup: Path, path: Path) -> None:
    path.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])


def _damaged(backup: Path, path: Path) -> None:
    data = bytearray(backup.read_bytes())
    data[4096 * 2: 4096 * 4] = bytes(4096 * 2)  # pages 3 and 4 zeroed: b-trees lose their pages
    path.write_bytes(bytes(data))


def _foreign(_backup: Path, path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('not Handoff')")
        connection.commit()


@pytest.mark.parametrize(("make", "message"), [
    (lambda _backup, path: path.write_bytes(b""), "is empty: not a Handoff backup"),
    (lambda _backup, path: path.write_bytes(os.urandom(5000)), "is not a Handoff backup"),
    (_truncated, "is truncated"),
    (_damaged, "damaged SQLite database"),
    (_foreign, "holds no Handoff schema"),
    (lambda _backup, _path: None, "no such file"),
], ids=["empty", "random", "truncated", "damaged", "not-handoff", "missing"])
def test_a_file_that_is_not_a_whole_backup_is_refused(seeded, tmp_path, make, message):
    candidate = tmp_path / "candidate"
    make(seeded["backup"], candidate)
    target = tmp_path / "target.db"
    refused(cli(f"sqlite:///{target}", "db", "restore", str(candidate)), message)
    assert not target.exists()


def test_backup_refuses_an_existing_file_unless_forced(seeded, tmp_path):
    existing = tmp_path / "existing.backup"
    existing.write_bytes(b"keep me")
    refused(cli(seeded["url"], "db", "backup", str(existing)), "already exists", "--force")
    assert existing.read_bytes() == b"keep me"
    ok(cli(seeded["url"], "db", "backup", str(existing), "--force"))
    assert existing.read_bytes().startswith(b"SQLite format 3\x00")
    assert not leftovers(tmp_path)


def test_a_failed_backup_leaves_no_file(tmp_path):
    file = tmp_path / "never.backup"
    refused(cli(f"sqlite:///{tmp_path / 'absent.db'}", "db", "backup", str(file)),
            "no SQLite database at")
    refused(cli(NO_SERVER, "db", "backup", str(file)), "127.0.0.1")
    assert not file.exists() and not leftovers(tmp_path)
    assert not (tmp_path / "absent.db").exists()


def test_missing_postgresql_tools_are_named_with_how_to_install_them(tmp_path):
    assert shutil.which("pg_dump", path="/nonexistent") is None
    file = tmp_path / "never.pgdump"
    refused(cli(NO_SERVER, "db", "backup", str(file), PATH="/nonexistent"),
            "pg_dump was not found on PATH", "apt-get install postgresql-client")
    assert not file.exists() and not leftovers(tmp_path)
    archive = tmp_path / "fake.pgdump"
    archive.write_bytes(b"PGDMP" + bytes(100))
    refused(cli(NO_SERVER, "db", "restore", str(archive), PATH="/nonexistent"),
            "pg_restore was not found on PATH", "apt-get install postgresql-client")


def test_pg_tools_get_neither_the_password_nor_the_driver_on_their_command_line():
    url = make_url("postgresql+psycopg://handoff:s3cret@db.example.com:6543/handoff"
                   "?sslmode=require")
    assert _libpq_uri(url) == "postgresql://handoff@db.example.com:6543/handoff?sslmode=require"


def test_backup_without_a_file_is_a_usage_error(seeded):
    assert cli(seeded["url"], "db", "backup").returncode == 2
    assert cli(seeded["url"], "db", "restore").returncode == 2

