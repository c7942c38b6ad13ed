"""Shared fixtures: a database session on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

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


# --- a real browser: one Chromium for the whole run (the browser and the team tests share it:
# Playwright's sync API cannot start twice in one process) ---------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure when the browser is required)."""
    from tests.browser.serving import CHROMIUM

    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"browser tests need Debian's chromium at {CHROMIUM} (run `make test` as root)"
    if os.environ.get("HANDOFF_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HANDOFF_REQUIRE_BROWSER=1 but {reason}")
    print(f"\nSKIPPING browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(chromium):
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    from tests.browser.serving import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
