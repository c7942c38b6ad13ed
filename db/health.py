"""Whether this process can serve: the database answers and its schema is the code's."""

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from db import migrate


def check() -> dict[str, Any]:
    """{"status": "ok" | "unavailable", "database": ..., "schema": ..., "expected": ...}."""
    expected = migrate.head_revision()
    try:
        current = migrate.current_revision()
    except SQLAlchemyError as error:
        return {"status": "unavailable", "database": f"unreachable: {type(error).__name__}",
                "schema": None, "expected": expected}
    ready = current == expected
    return {"status": "ok" if ready else "unavailable", "database": "ok", "schema": current,
            "expected": expected,
            **({} if ready else {"reason": "run `python -m core.cli db upgrade`"})}
