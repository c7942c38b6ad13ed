"""Readiness (core.readiness) on SQLite and PostgreSQL: the database, its migrations, the
worker's Redis and the workers' heartbeats, each bounded in time and naming no URL; as
`GET /api/v1/ready` and `/api/v1/live` over real HTTP, and as `python -m core.cli health`."""

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from core import clock, readiness
from core.worker import Heartbeat
from db import changes, health, migrate
from db.models import WorkerHeartbeat
from tests.api_server import serving_api
from tests.service.test_cli import cli
from tests.service.test_worker import REDIS_URL

PASSWORD = "hunter2-not-for-logs"
# Generous for a busy machine, yet far below the minutes an unbounded connect can hang
BOUND_SECONDS = 2.5


@pytest.fixture
def migrated(concurrent_engine, monkeypatch) -> Iterator[Engine]:
    """DATABASE_URL at the test's database, at the head migration (the tables come from the
    models, which the migrations match: test_migrations), no REDIS_URL, the default pace."""
    monkeypatch.setenv("DATABASE_URL", url_of(concurrent_engine))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("HANDOFF_WORKER_PERIODIC_SECONDS", raising=False)
    with concurrent_engine.begin() as connection:
        command.stamp(migrate.alembic_config(connection), "head")
    yield concurrent_engine
    with concurrent_engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def seen(engine: Engine, worker: str, seconds_ago: float, queue: str = "redis") -> None:
    """A worker's heartbeat row, last written `seconds_ago`."""
    at = clock.now() - timedelta(seconds=seconds_ago)
    with Session(engine) as session:
        session.merge(WorkerHeartbeat(worker=worker, queue=queue, started_at=at, seen_at=at))
        session.commit()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a server stuck, a proxy that holds
    the line): its port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_migrated_database_with_no_worker_is_not_ready(migrated):
    state = readiness.ready()
    assert state == {"status": "not_ready", "checks": {
        "database": {"ok": True, "detail": "ok"},
        "migrations": {"ok": True, "current": migrate.head_revision(),
                       "head": migrate.head_revision()},
        "redis": {"ok": True, "detail": "not configured"},
        "workers": {"ok": False, "alive": 0, "workers": [], "alive_within_seconds": 180,
                    "detail": "no worker seen in the last 180s: start "
                              "`python -m core.cli worker`"}}}
    assert readiness.not_ready(state) == ["workers"]


def test_a_worker_is_alive_within_three_periodic_intervals(migrated, monkeypatch):
    monkeypatch.setenv("HANDOFF_WORKER_PERIODIC_SECONDS", "10")
    seen(migrated, "app-1:41", seconds_ago=25)
    state = readiness.ready()
    assert state["status"] == "ready"
    workers = state["checks"]["workers"]
    assert (workers["ok"], workers["alive"], workers["alive_within_seconds"]) == (True, 1, 30)
    [row] = workers["workers"]
    assert (row["worker"], row["queue"], row["alive"]) == ("app-1:41", "redis", True)
    assert row["seen_at"].endswith("Z")

    seen(migrated, "app-1:41", seconds_ago=35)  # three intervals and more: stale
    seen(migrated, "app-2:7", seconds_ago=3600, queue="sqlite")
    state = readiness.ready()
    assert state["status"] == "not_ready"
    workers = state["checks"]["workers"]
    assert (workers["ok"], workers["alive"]) == (False, 0)
    assert [(row["worker"], row["alive"]) for row in workers["workers"]] == [
        ("app-1:41", False), ("app-2:7", False)]  # the latest seen first


def stored(engine: Engine, worker: str) -> WorkerHeartbeat | None:
    with Session(engine) as session:
        return session.get(WorkerHeartbeat, worker)


def test_a_heartbeat_writes_its_row_keeps_its_start_and_bumps_no_data_change(migrated):
    with Session(migrated) as session:
        before = changes.position(session)
    seen(migrated, "gone:1", seconds_ago=2 * 86_400)  # a worker killed two days ago
    beats = Heartbeat("worker-1:9", "sqlite")
    beats.beat()
    first = stored(migrated, "worker-1:9")
    assert first.queue == "sqlite" and first.started_at == first.seen_at
    assert stored(migrated, "gone:1") is None  # dropped by the first beat
    beats.beat()
    later = stored(migrated, "worker-1:9")
    assert later.started_at == first.started_at and later.seen_at >= first.seen_at
    assert readiness.ready()["status"] == "ready"
    beats.stop()
    assert stored(migrated, "worker-1:9") is None
    beats.beat()  # a check still in flight as the worker stops writes nothing back
    assert stored(migrated, "worker-1:9") is None
    with Session(migrated) as session:
        assert changes.position(session) == before  # readers refresh nothing for a beat


def test_a_heartbeat_that_cannot_be_written_is_logged_and_never_raised(monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://handoff:{PASSWORD}"
                                       f"@127.0.0.1:{closed_port()}/handoff")
    caplog.set_level(logging.WARNING, logger="handoff.worker")
    beats = Heartbeat("worker-1:9", "redis")
    beats.beat()
    beats.stop()
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [(level, message.split(": OperationalError")[0]) for level, message in said] == [
        ("WARNING", "worker worker-1:9: could not record its heartbeat"),
        ("WARNING", "worker worker-1:9: could not remove its heartbeat")]
    assert not any(PASSWORD in record.getMessage() for record in caplog.records)


@pytest.fixture(params=["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL")
                                     else []))
def older_database(request, tmp_path, monkeypatch) -> Iterator[str]:
    """DATABASE_URL at a database that `db upgrade` left at 0013, the migration before the
    heartbeats (SQLite, or a PostgreSQL database of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'older.db'}"
    else:
        server = make_url(os.environ["TEST_DATABASE_URL"])
        name = f"{server.database}_older"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        url = server.set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    migrate.upgrade(revision="0013")
    yield url
    if request.param == "postgresql":
        from db.engine import engine_for

        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_a_database_at_an_older_migration_is_not_ready(older_database):
    checks = readiness.ready()["checks"]
    assert checks["database"] == {"ok": True, "detail": "ok"}
    assert checks["migrations"] == {"ok": False, "current": "0013",
                                    "head": migrate.head_revision(),
                                    "detail": "run `python -m core.cli db upgrade`"}
    assert checks["workers"]["ok"] is False
    assert "cannot read the heartbeats" in checks["workers"]["detail"]
    assert "db upgrade" in checks["workers"]["detail"]
    assert health.check()["status"] == "unavailable"  # the proxy's check agrees


def test_a_database_that_never_answers_is_not_ready_within_the_deadline(monkeypatch):
    with silent_server() as port:
        monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://handoff:{PASSWORD}"
                                           f"@127.0.0.1:{port}/handoff")
        started = time.monotonic()
        state = readiness.ready()
        took = time.monotonic() - started
        proxy = health.check()
    assert took < health.DEADLINE_SECONDS + BOUND_SECONDS
    assert state["status"] == "not_ready"
    assert state["checks"]["database"] == {
        "ok": False, "detail": f"unreachable: no answer within {health.DEADLINE_SECONDS:g}s"}
    assert state["checks"]["migrations"]["ok"] is False
    assert state["checks"]["workers"]["ok"] is False
    assert proxy["status"] == "unavailable" and proxy["database"].startswith("unreachable")
    for said in (json.dumps(state), json.dumps(proxy)):
        assert PASSWORD not in said and str(port) not in said and "postgresql" not in said


def test_a_database_that_refuses_is_not_ready_at_once(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://handoff:{PASSWORD}"
                                       f"@127.0.0.1:{closed_port()}/handoff")
    started = time.monotonic()
    state = readiness.ready()
    assert time.monotonic() - started < BOUND_SECONDS
    assert state["checks"]["database"] == {"ok": False, "detail": "unreachable: OperationalError"}
    assert PASSWORD not in json.dumps(state)


def test_redis_is_checked_within_its_timeout_and_its_url_is_never_shown(migrated, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:{port}/5")
    started = time.monotonic()
    state = readiness.ready()
    assert time.monotonic() - started < BOUND_SECONDS
    assert state["checks"]["redis"] == {"ok": False, "detail": "unreachable: ConnectionError"}
    with silent_server() as port:
        monkeypatch.setenv("REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:{port}/5")
        started = time.monotonic()
        silent = readiness.ready()
        assert time.monotonic() - started < readiness.REDIS_TIMEOUT_SECONDS + BOUND_SECONDS
    assert silent["checks"]["redis"] == {"ok": False, "detail": "unreachable: TimeoutError"}
    for said in (json.dumps(state), json.dumps(silent)):
        assert PASSWORD not in said and "redis://" not in said and str(port) not in said

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    seen(migrated, "worker-1:9", seconds_ago=1)
    state = readiness.ready()
    assert state["checks"]["redis"] == {"ok": True, "detail": "ok"}
    assert state["status"] == "ready"


def test_the_api_answers_ready_200_or_503_and_live_without_a_token(migrated):
    with serving_api() as base:
        refused = httpx.get(f"{base}/api/v1/ready")
        seen(migrated, "worker-1:9", seconds_ago=1)
        ready = httpx.get(f"{base}/api/v1/ready")
        live = httpx.get(f"{base}/api/v1/live")
        proxy = httpx.get(f"{base}/api/v1/health")
    assert refused.status_code == 503
    assert refused.json()["status"] == "not_ready"
    assert refused.json()["checks"]["workers"]["ok"] is False
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"]["workers"]["workers"][0]["worker"] == "worker-1:9"
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert proxy.status_code == 200  # health is the proxy's: workers are not its concern
    assert proxy.json() == {"status": "ok", "database": "ok", "schema": migrate.head_revision(),
                            "expected": migrate.head_revision()}


def test_cli_health_prints_each_check_and_exits_0_only_when_ready(migrated):
    url = url_of(migrated)
    refused = cli(url, "health")
    assert refused.returncode == 1
    lines = refused.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["database", "ok"], ["migrations", "ok"], ["redis", "ok"], ["workers", "NOT"]]
    assert lines[3].split(None, 3)[3] == ("0 alive: no worker seen in the last 180s: start "
                                         "`python -m core.cli worker`")
    assert refused.stderr.strip() == "error: not ready: workers"

    seen(migrated, "worker-1:9", seconds_ago=1)
    done = cli(url, "health")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[3].startswith("workers     ok      1 alive; worker-1:9 "
                                                  "(redis) seen ")
    as_json = cli(url, "health", "--format", "json")
    assert as_json.returncode == 0
    state = json.loads(as_json.stdout)
    assert state["status"] == "ready"
    assert list(state["checks"]) == ["database", "migrations", "redis", "workers"]
    assert state["checks"]["workers"]["alive"] == 1


def test_cli_health_json_says_not_ready_and_exits_1_when_the_database_is_unreachable():
    url = f"postgresql+psycopg://handoff:{PASSWORD}@127.0.0.1:{closed_port()}/handoff"
    result = cli(url, "health", "--format", "json")
    assert result.returncode == 1
    state = json.loads(result.stdout)
    assert state["status"] == "not_ready"
    assert state["checks"]["database"]["ok"] is False
    assert result.stderr.strip() == "error: not ready: database, migrations, workers"
    assert PASSWORD not in result.stdout + result.stderr
