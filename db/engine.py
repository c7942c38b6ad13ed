"""The one database entry point: get_engine() and get_session()."""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

DEFAULT_DATABASE_URL = "sqlite:///data/handoff.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url() -> str:
    """DATABASE_URL as it is now (read at call time, never cached at import)."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def get_engine() -> Engine:
    """The engine for the current DATABASE_URL; one engine per distinct URL."""
    return engine_for(database_url())


@cache
def engine_for(url: str) -> Engine:
    """The one engine of a database URL (SQLite files in WAL mode with a busy timeout)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers work during an import; the busy timeout makes writers wait, not fail."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work on an engine: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session() -> AbstractContextManager[Session]:
    """A unit of work on the current database (see session_scope)."""
    return session_scope(get_engine())
