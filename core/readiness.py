"""Whether every part a team deployment needs can serve: for operators (`python -m core.cli
health`) and `GET /api/v1/ready`.

Four checks, each bounded in time so that the answer comes within seconds whatever is down:
- database: it answers a round trip within db.health's deadline;
- migrations: its schema is at the code's head migration;
- redis: the worker's queue (REDIS_URL) answers a PING within REDIS_TIMEOUT_SECONDS; without
  REDIS_URL the queue is a SQLite file and there is nothing to reach ("not configured");
- workers: at least one worker (core.worker) has been seen lately, in its heartbeat row: within
  ALIVE_PERIODS periodic intervals (HANDOFF_WORKER_PERIODIC_SECONDS), since a worker beats on
  every check of its scheduler.
Nothing here names a URL: a database or Redis URL may hold a password.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from core import clock, worker
from db import health, migrate
from db.models import WorkerHeartbeat

ALIVE_PERIODS = 3
REDIS_TIMEOUT_SECONDS = 2.0


def ready() -> dict[str, Any]:
    """{"status": "ready" | "not_ready", "checks": {"database", "migrations", "redis",
    "workers"}}: ready when every check is ok."""
    config = worker.settings()
    found = _database_checks(config.periodic_seconds * ALIVE_PERIODS)
    checks = {"database": found["database"], "migrations": found["migrations"],
              "redis": redis_check(config.redis_url), "workers": found["workers"]}
    return {"status": "ready" if all(check["ok"] for check in checks.values()) else "not_ready",
            "checks": checks}


def not_ready(state: dict[str, Any]) -> list[str]:
    """The names of the checks that failed."""
    return [name for name, check in state["checks"].items() if not check["ok"]]


# --- the database, its migrations and the workers' heartbeats --------------------------------


@dataclass(frozen=True)
class _Look:
    """One look at the database: its migration, and the heartbeat rows (or why not)."""

    current: str | None
    heartbeats: list[tuple[str, str, datetime]]
    heartbeats_error: str | None


def _look(connection: Connection) -> _Look:
    current = health.current_revision(connection)
    try:
        rows = connection.execute(select(WorkerHeartbeat.worker, WorkerHeartbeat.queue,
                                         WorkerHeartbeat.seen_at)
                                  .order_by(WorkerHeartbeat.seen_at.desc())).all()
    except SQLAlchemyError as error:  # an older schema has no worker_heartbeats
        return _Look(current, [], f"cannot read the heartbeats: {type(error).__name__}")
    return _Look(current, [tuple(row) for row in rows], None)


def _database_checks(alive_seconds: int) -> dict[str, dict[str, Any]]:
    """The database, migrations and workers checks, from one look within the deadline."""
    head = migrate.head_revision()
    try:
        found = health.within_deadline(_look)
    except Exception as error:  # whatever it is, nothing can be read: say why, not where
        detail = health.unreachable(error)
        return {"database": {"ok": False, "detail": detail},
                "migrations": {"ok": False, "current": None, "head": head,
                               "detail": "the database is unreachable"},
                "workers": {"ok": False, "alive": 0, "workers": [],
                            "alive_within_seconds": alive_seconds,
                            "detail": "the database is unreachable"}}
    at_head = found.current == head
    return {"database": {"ok": True, "detail": "ok"},
            "migrations": {"ok": at_head, "current": found.current, "head": head,
                           **({} if at_head else {"detail": health.UPGRADE_HINT})},
            "workers": _workers_check(found, alive_seconds)}


def _workers_check(found: _Look, alive_seconds: int) -> dict[str, Any]:
    """Every worker's heartbeat, newest first, and how many were seen lately."""
    since = clock.now() - timedelta(seconds=alive_seconds)
    workers = [{"worker": name, "queue": queue, "seen_at": _iso(seen_at),
                "alive": _aware(seen_at) >= since}
               for name, queue, seen_at in found.heartbeats]
    alive = sum(row["alive"] for row in workers)
    check = {"ok": alive > 0, "alive": alive, "workers": workers,
             "alive_within_seconds": alive_seconds}
    if found.heartbeats_error:
        check["detail"] = f"{found.heartbeats_error} ({health.UPGRADE_HINT})"
    elif not alive:
        check["detail"] = (f"no worker seen in the last {alive_seconds}s: start "
                           "`python -m core.cli worker`")
    return check


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    """An instant as ISO 8601 UTC ("2026-12-04T09:15:02Z")."""
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- redis ------------------------------------------------------------------------------------


def redis_check(url: str | None) -> dict[str, Any]:
    """Whether the worker's Redis answers a PING within REDIS_TIMEOUT_SECONDS (one try, no
    retries); ok and "not configured" without REDIS_URL (the queue is then SQLite)."""
    if not url:
        return {"ok": True, "detail": "not configured"}
    client = None
    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                      retry=Retry(NoBackoff(), 0))
        client.ping()
    except (redis.RedisError, OSError, ValueError) as error:
        return {"ok": False, "detail": f"unreachable: {type(error).__name__}"}
    finally:
        if client is not None:
            client.close()
    return {"ok": True, "detail": "ok"}
