"""The background worker: Huey runs the jobs that come with time (a scheduled agreement
version becomes active at its start, the connectors sync on their schedule) and the syncs an
admin asks for, retries what fails, and records every run as a JobRun.

The queue lives in SQLite (HANDOFF_WORKER_DB, by default worker.db beside the SQLite
database) or, when REDIS_URL is set, in Redis. It is built on first use from the environment
as it is then (one queue per configuration, with the jobs registered on it), so a test or a
process that changes the environment gets the queue it names.

Periodic jobs (`@periodic`) run on every check of the scheduler: at the worker's start and
then every minute (HANDOFF_WORKER_PERIODIC_SECONDS; tests use a second). Each worker's scheduler
queues them, and the first worker to take the check's short lease runs it, so two workers do
not run a check twice. A failed periodic job is retried by its next check. A sync that fails
is retried HANDOFF_WORKER_RETRIES times, the delay doubling from HANDOFF_WORKER_RETRY_SECONDS;
an error only an admin can fix (revoked credentials, bad settings) is not retried.

One sync of a connector at a time, across every worker: a sync runs under a lease on the
connector kept in the queue's own storage (Redis `SET NX PX`, or a row with an expiry in the
SQLite queue). Huey's own `lock_task` does not fit: its lock never expires on SQLite (and on
Redis only from 7.4), so a worker killed with SIGKILL mid-sync would hold it for good, and
flushing locks when a worker starts would break the lock of another worker still syncing. The
lease expires after HANDOFF_WORKER_LEASE_SECONDS unless its holder renews it (a heartbeat, every
third of that), so a killed worker's sync is free again within a minute while a live one keeps
it however long the sync takes; it is released only by its holder. A sync that finds the lease
taken is not retried: its run is recorded as skipped.

Each job run leaves one structured log line (core.request_log, event "job": job, attempt,
state, worker, duration_ms). Each worker keeps a heartbeat row (worker_heartbeats), written as
it starts and on every check of its scheduler and removed as it stops: readiness
(core.readiness) counts the workers seen lately. A worker whose scheduler is stuck stops
beating; a beat that fails (the database down) is logged and never stops the worker.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, TaskWrapper
from huey.consumer import Consumer, Scheduler
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from core import request_log
from core.connectors.base import SyncError, TokenRevoked
from core.errors import InvalidInput, NotFound
from core.services import alerts
from core.services import sync as syncs
from core.services.agreements import advance_with_time
from core.services.audit import acting_through
from db.engine import database_url, get_session
from db.models import JobRun, WorkerHeartbeat, utcnow

logger = logging.getLogger("handoff.worker")
logger.addHandler(logging.NullHandler())  # silent unless the worker's process sets up logging

ERROR_TEXT_MAX = 2_000
PERIODIC_LEASE_SHARE = 0.8  # of the interval: one worker runs a periodic check
SHUTDOWN_SECONDS = 30  # how long a stopping worker lets its running jobs finish
STALE_HEARTBEAT_SECONDS = 86_400  # a heartbeat row not seen for a day is a dead worker's
# Errors that a retry cannot fix: an admin has to act first.
NOT_RETRIED = (TokenRevoked, InvalidInput, NotFound)
# Errors that say what went wrong in words (no traceback in the log).
EXPECTED_ERRORS = (SyncError, InvalidInput, NotFound)


@dataclass(frozen=True)
class Settings:
    """Where the queue lives and how the worker paces its jobs (from the environment)."""

    name: str
    redis_url: str | None
    sqlite_path: str
    periodic_seconds: int
    retries: int
    retry_seconds: float
    lease_seconds: float


def settings() -> Settings:
    """The worker's settings as the environment says now."""
    env = os.environ.get
    return Settings(
        name=env("HANDOFF_WORKER_NAME") or "handoff", redis_url=env("REDIS_URL") or None,
        sqlite_path=env("HANDOFF_WORKER_DB") or str(_beside_database("worker.db")),
        periodic_seconds=int(env("HANDOFF_WORKER_PERIODIC_SECONDS") or 60),
        retries=int(env("HANDOFF_WORKER_RETRIES") or 5),
        retry_seconds=float(env("HANDOFF_WORKER_RETRY_SECONDS") or 30),
        lease_seconds=float(env("HANDOFF_WORKER_LEASE_SECONDS") or 60))


def _beside_database(filename: str) -> Path:
    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / filename
    return Path("data") / filename


# --- jobs -----------------------------------------------------------------------------------

PERIODIC: dict[str, Callable[[], dict[str, Any]]] = {}


def periodic(job: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Make `job` one the worker runs on every scheduler check; it returns its run's detail."""
    PERIODIC[job.__name__] = job
    return job


@periodic
def advance_time() -> dict[str, Any]:
    """Scheduled agreement versions become active at their start, ended ones expire."""
    with get_session() as session:
        return {"changed": advance_with_time(session)}


@periodic
def schedule_syncs() -> dict[str, Any]:
    """Queue a sync of every connector whose next run has come."""
    with get_session() as session:
        due = syncs.due_connectors(session)
    for name in due:
        queue().sync(name)
    return {"queued": due}


@periodic
def run_alerts() -> dict[str, Any]:
    """Fire the agreement's escalation rules that are due, and send the notices due."""
    return _summary(alerts.run_pass(get_session))


def alerts_now(as_of: str | None = None) -> alerts.PassResult:
    """One alerts pass in this process (the CLI's `alerts run`), recorded as a run."""
    found: list[alerts.PassResult] = []

    def work() -> dict[str, Any]:
        found.append(alerts.run_pass(get_session, as_of))
        return _summary(found[0])

    _recorded("alerts", 1, None, work)
    return found[0]


def _summary(result: alerts.PassResult) -> dict[str, Any]:
    """A pass's run detail: its counts, the digests made and what was sent (not every lead)."""
    found = result.as_json()
    return {key: found[key] for key in ("as_of", "counts", "digests", "dispatch")}


def enqueue_sync(name: str) -> None:
    """Queue a sync of the connector now, paused or not ("sync now")."""
    syncs.connector_module(name)
    queue().sync(name, force=True)


def sync_now(name: str) -> syncs.SyncResult:
    """One sync pass in this process (the CLI's `sync run`), under the connector's lease and
    recorded as a run, audited from the caller's channel; a failure is raised."""
    return syncs.SyncResult(**_recorded(f"sync:{name}", 1, None,
                                        lambda: _leased_sync(name, force=True)))


def _leased_sync(name: str, force: bool) -> dict[str, Any]:
    with lease(queue().leases, f"sync:{name}", settings().lease_seconds) as held:
        if not held:
            result = syncs.SyncResult(name, "skipped", reason=f"{syncs.CONNECTORS[name]} is "
                                      "already syncing in another worker")
        else:
            result = syncs.run_sync(name, sessions=get_session, force=force)
    return result.as_json()


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """A Huey instance with the worker's jobs registered, and its leases."""

    huey: Huey
    sync: TaskWrapper
    leases: "Leases"


def queue() -> Queue:
    """The queue the environment names now."""
    return _queue_for(settings())


@cache
def _queue_for(config: Settings) -> Queue:
    huey = (RedisHuey(config.name, url=config.redis_url, results=False) if config.redis_url
            else SqliteHuey(config.name, filename=_ready(config.sqlite_path), results=False,
                            timeout=30))
    for name, job in PERIODIC.items():
        huey.periodic_task(crontab(), context=True, name=name)(_as_task(name, job))
    sync = huey.task(retries=config.retries, retry_delay=config.retry_seconds, retry_backoff=2,
                     context=True, name="sync")(_sync_task)
    return Queue(huey, sync, leases_for(huey, config.name))


def _ready(path: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _as_task(name: str, job: Callable[[], dict[str, Any]]):
    def run(task) -> dict[str, Any] | None:
        # Every worker's scheduler queues the periodic jobs: the first to take this check's
        # lease runs it (not released: it lapses before the next check)
        config = settings()
        if not queue().leases.acquire(f"periodic:{name}", WORKER_ID,
                                      config.periodic_seconds * PERIODIC_LEASE_SHARE):
            return None
        return _attempt(task, name, job)

    run.__doc__ = job.__doc__
    return run


def _sync_task(name: str, force: bool = False, task=None) -> dict[str, Any]:
    """One attempt of a connector's sync."""
    return _attempt(task, f"sync:{name}", lambda: _leased_sync(name, force))


def _attempt(task, job: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one attempt of a Huey task, recorded, its audit events from the worker; an error no
    retry can fix ends the retries."""
    attempt = type(task).default_retries - task.retries + 1

    def retry_in(error: Exception) -> float | None:
        if isinstance(error, NOT_RETRIED):
            task.retries = 0
        return task.retry_delay if task.retries else None

    with acting_through("worker"):
        return _recorded(job, attempt, retry_in, work)


# --- runs -----------------------------------------------------------------------------------

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def _recorded(job: str, attempt: int, retry_in: Callable[[Exception], float | None] | None,
              work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `work` as one attempt of `job` and return its detail: its JobRun goes running, then
    ok or failed with the error (each in its own short transaction), and one log line says how
    it went (its state: ok, skipped or failed; the error and the retry when it failed)."""
    with request_log.timed("job", outcome="state", job=job, attempt=attempt,
                           worker=WORKER_ID) as line:
        run_id = _start_run(job, attempt)
        try:
            detail = work()
        except Exception as error:
            later = retry_in(error) if retry_in else None
            text = syncs.error_text(error)[:ERROR_TEXT_MAX]
            _finish_run(run_id, "failed", {"worker": WORKER_ID, "retry_in_seconds": later},
                        text)
            line.failed(error, level=logging.WARNING, state="failed", error=text,
                        retry_in_seconds=later,
                        traceback=not isinstance(error, EXPECTED_ERRORS))
            raise
        _finish_run(run_id, "ok", {**detail, "worker": WORKER_ID})
        state = detail.get("state")  # a sync says whether it ran or was skipped
        line.set(state=state if isinstance(state, str) else "ok")
    return detail


def _start_run(job: str, attempt: int) -> int:
    with get_session() as session:
        run = JobRun(job=job, attempt=attempt, state="running", detail={"worker": WORKER_ID})
        session.add(run)
        session.flush()
        return run.id


def _finish_run(run_id: int, state: str, detail: dict[str, Any], error: str | None = None
                ) -> None:
    with get_session() as session:
        run = session.get(JobRun, run_id)
        run.state, run.finished_at, run.detail, run.error = state, utcnow(), detail, error
        session.add(run)


# --- leases ---------------------------------------------------------------------------------


class Leases(Protocol):
    """Named leases with an expiry, shared by every worker of a queue."""

    def acquire(self, key: str, owner: str, seconds: float) -> bool: ...

    def renew(self, key: str, owner: str, seconds: float) -> bool: ...

    def release(self, key: str, owner: str) -> None: ...


class RedisLeases:
    """Leases as Redis keys that expire; renewed and deleted only by their owner."""

    RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
             "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
    RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
               "return redis.call('del', KEYS[1]) else return 0 end")

    def __init__(self, storage: RedisStorage, prefix: str):
        self.conn, self.prefix = storage.conn, prefix
        self._renew = self.conn.register_script(self.RENEW)
        self._release = self.conn.register_script(self.RELEASE)

    def acquire(self, key: str, owner: str, seconds: float) -> bool:
        return bool(self.conn.set(self.prefix + key, owner, nx=True, px=int(seconds * 1000)))

    def renew(self, key: str, owner: str, seconds: float) -> bool:
        return bool(self._renew(keys=[self.prefix + key], args=[owner, int(seconds * 1000)]))

    def release(self, key: str, owner: str) -> None:
        self._release(keys=[self.prefix + key], args=[owner])


class SqliteLeases:
    """Leases as rows with an expiry in the SQLite queue file (an expired one is free)."""

    TABLE = ("create table if not exists lease (queue text not null, key text not null, "
             "owner text not null, expires real not null, primary key (queue, key))")

    def __init__(self, storage: SqliteStorage):
        self.storage = storage
        storage.sql(self.TABLE, commit=True)

    def acquire(self, key: str, owner: str, seconds: float) -> bool:
        now = time.time()
        with self.storage.db(commit=True) as cursor:
            cursor.execute("delete from lease where queue = ? and key = ? and expires < ?",
                           (self.storage.name, key, now))
            cursor.execute("insert or ignore into lease values (?, ?, ?, ?)",
                           (self.storage.name, key, owner, now + seconds))
            return cursor.rowcount == 1

    def renew(self, key: str, owner: str, seconds: float) -> bool:
        with self.storage.db(commit=True) as cursor:
            cursor.execute("update lease set expires = ? where queue = ? and key = ? and "
                           "owner = ?", (time.time() + seconds, self.storage.name, key, owner))
            return cursor.rowcount == 1

    def release(self, key: str, owner: str) -> None:
        self.storage.sql("delete from lease where queue = ? and key = ? and owner = ?",
                         (self.storage.name, key, owner), commit=True)


def leases_for(huey: Huey, name: str) -> Leases:
    """The leases kept in a Huey instance's storage."""
    if isinstance(huey.storage, RedisStorage):
        return RedisLeases(huey.storage, f"handoff.lease.{name}.")
    return SqliteLeases(huey.storage)


@contextmanager
def lease(leases: Leases, key: str, seconds: float) -> Iterator[bool]:
    """Hold the lease `key` for the block, renewed while it runs; yields False, holding
    nothing, when another holder has it."""
    owner = f"{WORKER_ID}:{uuid.uuid4().hex}"
    if not leases.acquire(key, owner, seconds):
        yield False
        return
    stop = threading.Event()
    heartbeat = threading.Thread(target=_renew_until, args=(stop, leases, key, owner, seconds),
                                 name=f"lease {key}", daemon=True)
    heartbeat.start()
    try:
        yield True
    finally:
        stop.set()
        heartbeat.join()
        leases.release(key, owner)


def _renew_until(stop: threading.Event, leases: Leases, key: str, owner: str,
                 seconds: float) -> None:
    while not stop.wait(seconds / 3):
        try:
            if not leases.renew(key, owner, seconds):
                logger.error("lost the lease %s: another worker may run it too", key)
                return
        except Exception:  # a busy store now and then: the next beat tries again
            logger.exception("could not renew the lease %s", key)


# --- heartbeats -----------------------------------------------------------------------------


class Heartbeat:
    """This worker's row in worker_heartbeats: written on every beat (the scheduler's checks,
    the first as the worker starts), removed by `stop`. A beat that fails is logged and the
    next one tries again: a database that is down never stops the worker."""

    def __init__(self, worker: str, queue: str):
        self.worker, self.queue = worker, queue
        self._lock = threading.Lock()  # a beat in flight never writes the row back after stop
        self._stopped = False
        self._beaten = False

    def beat(self) -> None:
        """Say this worker is alive now (the first beat also drops the rows of workers not
        seen for a day: killed ones, which could not remove their own)."""
        with self._lock:
            if self._stopped:
                return
            try:
                with get_session() as session:
                    now = utcnow()
                    if not self._beaten:
                        session.execute(delete(WorkerHeartbeat).where(
                            WorkerHeartbeat.seen_at < now - timedelta(
                                seconds=STALE_HEARTBEAT_SECONDS)))
                    row = session.get(WorkerHeartbeat, self.worker) or WorkerHeartbeat(
                        worker=self.worker, queue=self.queue, started_at=now)
                    row.seen_at = now
                    session.add(row)
                self._beaten = True
            except Exception as error:
                logger.warning("worker %s: could not record its heartbeat: %s", self.worker,
                               request_log.describe(error))

    def stop(self) -> None:
        """Remove the row (the worker is stopping) and beat no more."""
        with self._lock:
            self._stopped = True
            try:
                with get_session() as session:
                    session.execute(delete(WorkerHeartbeat).where(
                        WorkerHeartbeat.worker == self.worker))
            except Exception as error:
                logger.warning("worker %s: could not remove its heartbeat: %s", self.worker,
                               request_log.describe(error))


# --- the consumer ---------------------------------------------------------------------------


class _Scheduler(Scheduler):
    """Huey's scheduler, beating the worker's heartbeat after each check of the periodic jobs:
    a worker whose scheduler is stuck is soon not seen."""

    heartbeat: Heartbeat | None = None

    def enqueue_periodic_tasks(self, now) -> None:
        super().enqueue_periodic_tasks(now)
        if self.heartbeat is not None:
            self.heartbeat.beat()


class _Consumer(Consumer):
    """Huey's consumer with the worker's periodic pace and heartbeat, and SIGTERM like SIGINT:
    let the running jobs finish (a second signal stops at once)."""

    scheduler_class = _Scheduler

    def __init__(self, huey: Huey, *, periodic_seconds: int, heartbeat: Heartbeat, **options):
        self.periodic_seconds, self.heartbeat = periodic_seconds, heartbeat
        super().__init__(huey, **options)
        self._signal_actions[signal.SIGTERM] = (False, True)
        self._signal_actions[signal.SIGINT] = (False, True)

    def _create_scheduler(self):
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.periodic_seconds
        scheduler.heartbeat = self.heartbeat
        return scheduler


def run(workers: int = 2) -> None:
    """Run the worker in the foreground until SIGTERM or SIGINT (its entry point, `python -m
    core.cli worker`, sets up the log), its heartbeat row kept meanwhile."""
    huey_log = logging.getLogger("huey")
    huey_log.setLevel(logging.WARNING)
    huey_log.addFilter(_not_a_task_failure)
    config = settings()
    heartbeat = Heartbeat(WORKER_ID, "redis" if config.redis_url else "sqlite")
    consumer = _Consumer(queue().huey, periodic_seconds=config.periodic_seconds,
                         heartbeat=heartbeat, workers=workers, worker_type="thread",
                         max_delay=2.0, shutdown_timeout=SHUTDOWN_SECONDS)
    logger.info("worker %s: %d threads, queue %s in %s, periodic jobs (%s) every %ds",
                WORKER_ID, workers, config.name, _where(config), ", ".join(PERIODIC),
                config.periodic_seconds)
    try:
        consumer.run()
    finally:
        heartbeat.stop()
    logger.info("worker %s stopped", WORKER_ID)


def _not_a_task_failure(record: logging.LogRecord) -> bool:
    """Huey's own report of a failed task: the worker's line already says it."""
    return not record.getMessage().startswith("Unhandled exception in task")


def _where(config: Settings) -> str:
    """Where the queue is, for the log (a Redis URL without its password)."""
    if not config.redis_url:
        return config.sqlite_path
    url = urlsplit(config.redis_url)
    return f"{url.scheme}://{url.hostname}:{url.port or 6379}{url.path}"
