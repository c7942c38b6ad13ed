"""The background worker as it runs: real `python -m core.cli worker` processes (with the
test-only slow connector installed, tests/fakes/slow_connector.py), a real queue (a SQLite file,
or Redis) and the test database: its jobs, its heartbeat row and its log lines. Nothing here
sleeps for a fixed time: it waits for what the workers write."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlmodel import select

from core import secret_box, services, worker
from core.services import sync
from db.engine import session_scope
from db.models import AgreementVersion, AuditEvent, Connector, JobRun, WorkerHeartbeat
from tests.fakes import slow_connector
from tests.fakes.slow_connector import journal, open_gate
from tests.service.test_agreements import activate, amended_to_start, draft

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 120
STOP_SECONDS = 60


def wait_for(condition: Callable[[], object], what: str, workers=None):
    """Poll until `condition` holds (a generous deadline, for a busy machine)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}"
                                 + (f"\n{workers.logs()}" if workers else ""))
        time.sleep(0.05)
    return value


class Workspace:
    """The test's queue, database and slow connector, as the workers see them."""

    def __init__(self, engine, folder: Path):
        self.engine, self.folder = engine, folder

    def configure(self, *, paused: bool = False, **settings) -> None:
        """Set up the slow connector (paused: only the syncs a test asks for run)."""
        with session_scope(self.engine) as session:
            sync.configure_connector(session=session, actor=services.OPERATOR, name="slow",
                                     settings={"folder": str(self.folder), **settings},
                                     credentials={"token": "slow-token-1234"})
            if paused:
                sync.set_paused(session=session, actor=services.OPERATOR, name="slow",
                                paused=True)

    def runs(self, job: str = "sync:slow") -> list[JobRun]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(JobRun).where(JobRun.job == job)
                                     .order_by(JobRun.id)).all())

    def finished(self, job: str = "sync:slow") -> list[JobRun]:
        return [run for run in self.runs(job) if run.state != "running"]


@pytest.fixture
def store(request) -> str:
    """Where the queue is: a SQLite file (the default) or Redis."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def workspace(concurrent_engine, store, tmp_path, monkeypatch) -> Iterator[Workspace]:
    """The environment a worker reads, set in this process too (it queues the syncs), with a
    queue of its own; the slow connector installed here as in the workers."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    env = {"DATABASE_URL": concurrent_engine.url.render_as_string(hide_password=False),
           "HANDOFF_SECRET_KEY": secret_box.new_key(), "HANDOFF_WORKER_NAME": name,
           "HANDOFF_WORKER_PERIODIC_SECONDS": "1", "HANDOFF_WORKER_RETRY_SECONDS": "1",
           "HANDOFF_WORKER_LEASE_SECONDS": "10"}
    if store == "redis":
        env["REDIS_URL"] = REDIS_URL
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
        env["HANDOFF_WORKER_DB"] = str(tmp_path / "worker.db")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HANDOFF_REPLICA", raising=False)  # log lines name the worker's host:pid
    monkeypatch.setitem(sync.CONNECTORS, slow_connector.NAME, slow_connector.LABEL)
    monkeypatch.setitem(sys.modules, f"core.connectors.{slow_connector.NAME}", slow_connector)
    folder = tmp_path / "crm"
    folder.mkdir()
    yield Workspace(concurrent_engine, folder)
    if store == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"*{name}*"):
            client.delete(key)


class Workers:
    """Worker processes started by a test, stopped at its end."""

    def __init__(self, folder: Path):
        self.folder, self.processes = folder, []

    def start(self, threads: int = 2, **env: str) -> subprocess.Popen:
        log = open(self.folder / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.slow_connector", "worker", "--workers",
             str(threads)], cwd=ROOT, env={**os.environ, **env}, stdout=log,
            stderr=subprocess.STDOUT)
        self.processes.append((process, log))
        return process

    def logs(self) -> str:
        return "\n".join(Path(log.name).read_text()[-3000:] for _, log in self.processes)

    def lines(self, process: subprocess.Popen, event: str) -> list[dict]:
        """The worker's structured log lines of one event (its log is one JSON object a
        line)."""
        [log] = [log for started, log in self.processes if started is process]
        found = [json.loads(line) for line in Path(log.name).read_text().splitlines()]
        return [line for line in found if line.get("event") == event]

    def stop(self, process: subprocess.Popen) -> int:
        """SIGTERM, and the worker's exit code once it has stopped."""
        process.send_signal(signal.SIGTERM)
        return process.wait(STOP_SECONDS)

    def stop_all(self) -> None:
        for process, log in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


@pytest.fixture
def workers(tmp_path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop_all()


def worker_id(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"


def skipped_by(workspace: Workspace) -> set[str]:
    """The workers that found the sync running elsewhere and skipped it."""
    return {run.detail["worker"] for run in workspace.finished()
            if run.detail.get("state") == "skipped"}


@pytest.mark.parametrize("store", ["sqlite", "redis"], indirect=True)
def test_two_workers_never_run_one_sync_at_once(workspace, workers):
    workspace.configure(paused=True)
    first, second = workers.start(), workers.start()
    worker.enqueue_sync("slow")
    asked = 1
    wait_for(lambda: journal(workspace.folder) == ["start"], "a sync to start", workers)

    # While that sync waits at the gate, each other one is skipped, in either worker
    while skipped_by(workspace) != {worker_id(first), worker_id(second)}:
        assert asked < 50, "one worker took every sync"
        worker.enqueue_sync("slow")
        asked += 1
        wait_for(lambda held=1, asked=asked: len(workspace.finished()) == asked - held
                 or journal(workspace.folder) != ["start"], "the sync to be skipped", workers)
        assert journal(workspace.folder) == ["start"]
    open_gate(workspace.folder)
    for _ in range(10):  # and once it is done, a burst of syncs from both
        worker.enqueue_sync("slow")
    asked += 10
    wait_for(lambda: len(workspace.finished()) == asked, "every sync to be recorded", workers)

    runs = workspace.runs()
    assert [(run.state, run.error) for run in runs if run.state != "ok"] == []
    assert len(runs) == asked
    synced = [run for run in runs if run.detail["state"] == "ok"]
    assert journal(workspace.folder) == ["start", "end"] * len(synced)  # one at a time
    assert all(run.detail["reason"] == "Slow CRM is already syncing in another worker"
               for run in runs if run not in synced)
    assert [workers.stop(first), workers.stop(second)] == [0, 0]


def test_a_failed_sync_is_retried_with_backoff_and_each_error_is_kept(workspace, workers):
    workspace.configure(paused=True, fail=2)
    open_gate(workspace.folder)
    workers.start()
    worker.enqueue_sync("slow")
    wait_for(lambda: any(run.state == "ok" for run in workspace.runs()), "the sync to succeed",
             workers)

    runs = workspace.runs()
    assert [(run.attempt, run.state, run.error) for run in runs] == [
        (1, "failed", "Slow CRM is down (attempt 1)"),
        (2, "failed", "Slow CRM is down (attempt 2)"),
        (3, "ok", None)]
    assert [run.detail.get("retry_in_seconds") for run in runs] == [1, 2, None]
    for failed, retry in zip(runs, runs[1:], strict=False):
        assert retry.started_at - failed.finished_at >= timedelta(
            seconds=failed.detail["retry_in_seconds"])
    assert runs[-1].detail["state"] == "ok"


def test_a_revoked_token_fails_at_once_for_an_admin_to_fix(workspace, workers):
    workspace.configure(paused=True, revoked=True)
    workers.start()
    worker.enqueue_sync("slow")
    [run] = wait_for(workspace.finished, "the sync to fail", workers)
    assert (run.attempt, run.state, run.error) == (
        1, "failed", "Slow CRM refused the token: enter a new one")
    assert run.detail["retry_in_seconds"] is None
    assert "slow-token-1234" not in run.error


def sync_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.fakes.slow_connector", "sync", "run",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_sync_run_syncs_a_paused_connector_now_and_exits_1_when_the_crm_refuses(workspace):
    workspace.configure(paused=True)
    open_gate(workspace.folder)
    done = sync_cli("slow", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"state": "ok"' in done.stdout and '"connector": "slow"' in done.stdout
    workspace.configure(revoked=True)
    refused = sync_cli("slow")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: Slow CRM refused the token: enter a new one"
    assert [run.state for run in workspace.runs()] == ["ok", "failed"]


def test_a_due_connector_syncs_on_the_schedule_with_no_one_asking(workspace, workers):
    workspace.configure()
    open_gate(workspace.folder)
    workers.start()
    wait_for(lambda: any(run.detail.get("state") == "ok" for run in workspace.finished()),
             "the scheduled sync", workers)
    assert any(run.detail["queued"] == ["slow"] for run in workspace.finished("schedule_syncs"))


def test_a_killed_workers_sync_is_free_again_once_its_lease_expires(workspace, workers):
    workspace.configure(paused=True)
    killed = workers.start()
    worker.enqueue_sync("slow")
    wait_for(lambda: journal(workspace.folder) == ["start"], "a sync to start", workers)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    open_gate(workspace.folder)
    survivor = workers.start()

    def synced_by_survivor() -> bool:
        done = len(workspace.finished())
        worker.enqueue_sync("slow")
        wait_for(lambda: len(workspace.finished()) > done, "the sync to be recorded", workers)
        return any(run.detail.get("state") == "ok" and run.detail["worker"] ==
                   worker_id(survivor) for run in workspace.finished())

    wait_for(synced_by_survivor, "the survivor to sync", workers)


def test_a_scheduled_version_becomes_active_at_its_start_with_no_one_looking(
        concurrent_engine, workspace, workers, people_factory, monkeypatch):
    monkeypatch.setenv("HANDOFF_NOW", "2026-12-31T12:00:00Z")
    with session_scope(concurrent_engine) as session:
        people = people_factory(session)
        aid = activate(session, people, draft(session, people)).agreement_id
        assert amended_to_start(session, people, aid, "2027-01-01").state == "scheduled"

    # Midnight in the agreement's zone (New York) is 05:00 UTC: two seconds after the worker starts
    workers.start(HANDOFF_NOW="2027-01-01T04:59:58Z")

    def state() -> str:
        with session_scope(concurrent_engine) as session:
            return session.exec(select(AgreementVersion.state).where(
                AgreementVersion.agreement_id == aid, AgreementVersion.number == 2)).one()

    wait_for(lambda: state() == "active", "the version to become active", workers)
    with session_scope(concurrent_engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "version.activate")
                             ).one()
    assert (event.actor, event.channel, event.object_id) == ("system", "worker", f"{aid}/2")
    assert any(run.detail["changed"] == 1 for run in workspace.finished("advance_time"))


def test_a_worker_killed_mid_sync_loses_and_doubles_nothing_once_another_resumes_it(
        workspace, workers, httpserver, people_factory):
    """A real HubSpot sync (the local fake server) on schedule; its worker is killed with
    SIGKILL half-way; what it committed is consistent with its watermarks, and another worker
    finishes the sync with every row exactly once."""
    from tests.fakes.hubspot import FakeHubSpot
    from tests.service.test_hubspot_sync import (
        assert_everything_stored,
        assert_nothing_stored_past_a_watermark_is_missing,
    )

    fake = FakeHubSpot(httpserver, contacts=600, engagements=900)
    sessions = lambda: session_scope(workspace.engine)  # noqa: E731
    with sessions() as session:
        people_factory(session)
        sync.configure_connector(session=session, actor=services.OPERATOR, name="hubspot",
                                 settings=fake.settings(page_size=50),
                                 credentials=fake.private_app_credentials())
    first = workers.start()
    fake.on_page(8, lambda: os.kill(first.pid, signal.SIGKILL))
    wait_for(lambda: first.poll() is not None, "the first worker to be killed", workers)
    with sessions() as session:
        connector = session.get(Connector, "hubspot")
        assert connector.state == "running" and connector.watermarks  # cut short, not finished
    assert_nothing_stored_past_a_watermark_is_missing(sessions, fake)

    workers.start()
    wait_for(lambda: any(run.state == "ok" and run.detail.get("state") == "ok"
                         for run in workspace.finished("sync:hubspot")),
             "another worker to finish the sync", workers)
    assert_everything_stored(sessions, fake)


def heartbeat(workspace: Workspace, process: subprocess.Popen) -> WorkerHeartbeat | None:
    with session_scope(workspace.engine) as session:
        return session.get(WorkerHeartbeat, worker_id(process))


@pytest.mark.parametrize("store", ["sqlite", "redis"], indirect=True)
def test_a_worker_beats_while_it_runs_and_removes_its_heartbeat_as_it_stops(
        workspace, workers, store):
    from core import readiness

    process = workers.start()
    first = wait_for(lambda: heartbeat(workspace, process), "the first heartbeat", workers)
    assert first.queue == store
    later = wait_for(lambda: (row := heartbeat(workspace, process)).seen_at > first.seen_at
                     and row, "a later heartbeat (every scheduler check)", workers)
    assert later.started_at == first.started_at
    checks = readiness.ready()["checks"]
    assert checks["workers"]["alive"] == 1 and checks["workers"]["ok"]
    assert checks["workers"]["workers"][0]["worker"] == worker_id(process)

    assert workers.stop(process) == 0
    assert heartbeat(workspace, process) is None
    assert readiness.ready()["checks"]["workers"]["alive"] == 0


def test_each_job_run_leaves_one_log_line_with_its_state_and_duration(workspace, workers):
    workspace.configure(paused=True, revoked=True)
    process = workers.start()
    worker.enqueue_sync("slow")
    wait_for(workspace.finished, "the sync to fail", workers)
    [failed] = wait_for(lambda: [line for line in workers.lines(process, "job")
                                 if line["job"] == "sync:slow"], "the sync's log line", workers)
    assert failed["state"] == "failed" and failed["level"] == "WARNING"
    assert (failed["attempt"], failed["worker"], failed["process"]) == (
        1, worker_id(process), worker_id(process))
    assert failed["error"] == "Slow CRM refused the token: enter a new one"
    assert failed["retry_in_seconds"] is None
    assert "traceback" not in failed  # an error in words needs no traceback
    assert isinstance(failed["duration_ms"], float)

    assert workers.stop(process) == 0
    lines = workers.lines(process, "job")
    runs = [run for job in worker.PERIODIC for run in workspace.finished(job)]
    periodic = [line for line in lines if line["job"] in worker.PERIODIC]
    assert len(periodic) == len(runs) > 0  # one line per recorded run
    assert {line["state"] for line in periodic} == {"ok"}
