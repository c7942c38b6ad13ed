"""`db upgrade` builds the schema on empty SQLite and PostgreSQL databases, matching the models."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db import migrate

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "users", "login_attempts", "audit_events", "leads", "touches", "agreements",
    "agreement_versions", "approvals", "comments", "import_batches", "saved_mappings",
    "disputes", "alembic_version",
}


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    """Run `python -m core.cli ...` against a database, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database_url}, timeout=120,
    )


@pytest.fixture(params=["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL")
                                     else []))
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """The URL of a brand-new, empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = make_url(os.environ["TEST_DATABASE_URL"])
    name = "handoff_migration_check"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_db_upgrade_creates_the_schema_and_autogenerate_finds_no_changes(empty_database_url):
    result = cli(empty_database_url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    engine = create_engine(empty_database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_db_upgrade_twice_is_harmless_and_downgrade_removes_everything(empty_database_url):
    assert cli(empty_database_url, "db", "upgrade").returncode == 0
    assert cli(empty_database_url, "db", "upgrade").returncode == 0
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrading_a_database_that_already_holds_leads_keeps_them(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            migrate.upgrade(connection, "0002")
            connection.execute(text(
                "INSERT INTO leads (source, external_id, created_at, attributes) "
                "VALUES ('crm', 'old-1', '2026-01-05 10:00:00', '{}')"))
        with engine.begin() as connection:
            migrate.upgrade(connection)
            row = connection.execute(text(
                "SELECT external_id, recycled FROM leads")).one()
        assert (row[0], bool(row[1])) == ("old-1", False)
    finally:
        engine.dispose()
