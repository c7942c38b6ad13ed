"""Whether this process can serve: the database answers and its schema is the code's.

Every look at the database here runs with a deadline (`within_deadline`): a database that does
not answer (a host that drops the packets, a server stuck on a lock) makes a health check say
"unavailable" within seconds, never hang the caller for the minutes a TCP connect can take. The
look runs in a daemon thread of its own that is left to finish or fail by itself, and at most
PROBES_MAX of them wait at once: past that, a check fails at once rather than pile up threads.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from db import migrate
from db.engine import get_engine

DEADLINE_SECONDS = 3.0
PROBES_MAX = 4
UPGRADE_HINT = "run `python -m core.cli db upgrade`"

T = TypeVar("T")
_probes = threading.BoundedSemaphore(PROBES_MAX)


class NoAnswer(Exception):
    """The database did not answer within the deadline."""


def within_deadline(look: Callable[[Connection], T], seconds: float = DEADLINE_SECONDS) -> T:
    """`look` at a connection to the current database, or NoAnswer when that takes longer than
    `seconds`; its own errors (a SQLAlchemyError, say) are raised as they are."""
    if not _probes.acquire(blocking=False):
        raise NoAnswer(f"{PROBES_MAX} earlier checks are still waiting for the database")
    engine = get_engine()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with engine.connect() as connection:
                outcome["value"] = look(connection)
        except BaseException as error:  # handed to the caller
            outcome["error"] = error
        finally:
            _probes.release()

    probe = threading.Thread(target=run, name="database health probe", daemon=True)
    probe.start()
    probe.join(seconds)
    if probe.is_alive():
        raise NoAnswer(f"no answer within {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass(frozen=True)
class Schema:
    """What a look at the database found: whether it answered (and if not, why, in words that
    name no URL), the migration it is at and the one the code has."""

    database: str  # "ok" or "unreachable: <why>"
    current: str | None
    head: str

    @property
    def reachable(self) -> bool:
        return self.database == "ok"

    @property
    def at_head(self) -> bool:
        return self.reachable and self.current == self.head


def unreachable(error: Exception) -> str:
    """Why the database did not answer, without its URL or the statement."""
    return f"unreachable: {error}" if isinstance(error, NoAnswer) else \
        f"unreachable: {type(error).__name__}"


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at (None: no schema yet), after a round trip."""
    connection.execute(text("SELECT 1"))
    return MigrationContext.configure(connection).get_current_revision()


def schema() -> Schema:
    """Whether the database answers (within the deadline) and the migration it is at."""
    head = migrate.head_revision()
    try:
        return Schema("ok", within_deadline(current_revision), head)
    except Exception as error:  # whatever it is, the database cannot serve: say so
        return Schema(unreachable(error), None, head)


def check() -> dict[str, Any]:
    """{"status": "ok" | "unavailable", "database": ..., "schema": ..., "expected": ...}."""
    found = schema()
    if not found.reachable:
        return {"status": "unavailable", "database": found.database, "schema": None,
                "expected": found.head}
    return {"status": "ok" if found.at_head else "unavailable", "database": "ok",
            "schema": found.current, "expected": found.head,
            **({} if found.at_head else {"reason": UPGRADE_HINT})}
