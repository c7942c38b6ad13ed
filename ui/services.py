"""The pages' one way to the database: each call of a service is one unit of work.

`call(service, **kwargs)` opens a session (db.engine.get_session), calls
`service(session=..., **kwargs)`, and commits, or rolls back if it raised. Pages, widgets and
the caches in ui.data reach the services only through here, so no page imports `db`.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from db.engine import database_url, get_session

T = TypeVar("T")


def call(service: Callable[..., T], /, **kwargs: Any) -> T:
    """`service(session=..., **kwargs)` in one unit of work."""
    with get_session() as session:
        return service(session=session, **kwargs)


def database() -> str:
    """The database the pages read now (caches are per process, and a process may be pointed
    at several databases: tests are)."""
    return database_url()
