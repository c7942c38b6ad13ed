"""Shared fixtures: a database session on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import db.models  # noqa: F401  (registers the tables)
from core import clock
from db.engine import engine_for

# Cheap hashes keep the suite fast; test_passwords checks the production work factor.
os.environ.setdefault("HANDOFF_BCRYPT_ROUNDS", "4")
clock.now()  # anchors a moved clock (HANDOFF_NOW) for every process the tests start

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """One engine on TEST_DATABASE_URL with a fresh schema for the whole run."""
    engine = create_engine(os.environ["TEST_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    """Empty every table of the PostgreSQL test database."""
    tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        # The guards (db.guards) refuse to empty the append-only tables; a superuser's replica
        # role skips triggers, for this cleanup only.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def backend_engine(request, sqlite_engine: Callable[[], Engine]) -> Iterator[Engine]:
    """The engine of the test's backend with empty tables: a fresh SQLite one from
    `sqlite_engine`, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        engine = sqlite_engine()
        SQLModel.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    empty_tables(engine)
    yield engine


@pytest.fixture(params=BACKENDS)
def concurrent_engine(request, tmp_path) -> Iterator[Engine]:
    """An engine with empty tables that many connections can use at once, as the app's
    processes do: a SQLite file in WAL mode, or the PostgreSQL test database."""
    yield from backend_engine(request, lambda: engine_for(f"sqlite:///{tmp_path / 'c.db'}"))


@pytest.fixture(params=BACKENDS)
def engine(request) -> Iterator[Engine]:
    """An engine with empty tables: in-memory SQLite, or the PostgreSQL test database."""
    yield from backend_engine(request, lambda: create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool))


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session on the test engine; whatever a test leaves uncommitted is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
