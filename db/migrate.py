"""Apply and inspect Alembic migrations from code (used by the CLI and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from db.engine import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at db/migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection | None = None, revision: str = "head") -> None:
    """Apply migrations up to `revision` on DATABASE_URL (or on the given connection)."""
    command.upgrade(alembic_config(connection), revision)


def current_revision() -> str | None:
    """The migration DATABASE_URL is at (None: no schema yet, a new database)."""
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest migration this code has."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def applied(before: str | None, after: str | None) -> str:
    """What an upgrade from `before` to `after` did, in words."""
    if before is None:
        return f"created the database at {_where()} (schema {after})"
    if before != after:
        return f"upgraded the database at {_where()} from schema {before} to {after}"
    return f"the database at {_where()} is up to date (schema {after})"


def _where() -> str:
    url = get_engine().url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)
