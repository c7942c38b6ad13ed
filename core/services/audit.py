"""The append-only audit trail (the database refuses to change or delete an event)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlmodel import Session

from db.models import AuditEvent

CHANNELS = ("app", "cli", "worker", "api")
_channel: ContextVar[str] = ContextVar("audit_channel", default="app")


def channel() -> str:
    """Where the actions being recorded come from: app (the default), cli, worker or api."""
    return _channel.get()


@contextmanager
def acting_through(name: str) -> Iterator[None]:
    """Record every audit event made inside the block as coming from `name` (cli, worker…)."""
    if name not in CHANNELS:
        raise ValueError(f"unknown audit channel '{name}'; use one of {', '.join(CHANNELS)}")
    token = _channel.set(name)
    try:
        yield
    finally:
        _channel.reset(token)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    batch_id: int | None = None,
) -> None:
    """Append one audit event in the caller's transaction."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before,
            after=after,
            channel=channel(),
            batch_id=batch_id,
        )
    )
