"""One structured log line per API request and page run (core.request_log; a worker job's line
is in test_worker): a real `api serve` process writes only JSON lines on stderr, one per
request, with the path and never the query; the API's lines through TestClient; app.py's line
per script run through AppTest, a stop or a rerun not being an error."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from streamlit.runtime.scriptrunner import RerunException, StopException
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from api.app import RequestLog, served_app
from core import limits, request_log
from core.permissions import Role
from tests.app.conftest import app, app_db, logged_in  # noqa: F401  (app_db: a fixture)
from ui import page_log

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def lines_of(caplog, event: str) -> list[dict]:
    """The event's lines as the JSON formatter writes them."""
    formatter = request_log.JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name == f"handoff.{event}"]


@pytest.fixture
def replica(monkeypatch) -> str:
    monkeypatch.setenv("HANDOFF_REPLICA", "api-7")
    return "api-7"


def test_each_api_request_leaves_one_line_with_its_path_status_and_duration(
        caplog, replica, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    caplog.set_level(logging.INFO, logger="handoff.request")
    client = TestClient(served_app())
    assert client.get("/api/v1/live", params={"token": "hnd_secret"}).status_code == 200
    assert client.get("/api/v1/report", params={"period": "2026-03"}).status_code == 401
    too_big = client.post("/api/v1/leads", content=b"x" * (limits.API_BODY_MAX_BYTES + 1))
    assert too_big.status_code == 413

    lines = lines_of(caplog, "request")
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/v1/live", 200), ("GET", "/api/v1/report", 401),
        ("POST", "/api/v1/leads", 413)]
    first = lines[0]
    assert list(first) == ["ts", "level", "event", "method", "path", "status", "duration_ms",
                           "process"]
    assert (first["event"], first["level"], first["process"]) == ("request", "INFO", replica)
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert all("hnd_secret" not in json.dumps(line) for line in lines)


def test_a_request_that_raises_is_a_500_line_at_error_and_still_raises(caplog):
    caplog.set_level(logging.INFO, logger="handoff.request")

    async def broken(scope, receive, send):
        raise RuntimeError("the store said no")

    client = TestClient(RequestLog(broken), raise_server_exceptions=False)
    assert client.get("/anything").status_code == 500
    [line] = lines_of(caplog, "request")
    assert (line["status"], line["error"], line["level"]) == (500, "RuntimeError", "ERROR")
    assert "duration_ms" in line and "traceback" not in line  # uvicorn logs the traceback


def test_a_page_run_that_stops_reruns_or_fails_says_so_with_its_duration(caplog):
    caplog.set_level(logging.INFO, logger="handoff.page")
    with page_log.page_run() as run:
        run.set(page="home", user="kim")
    with pytest.raises(StopException), page_log.page_run() as run:
        run.set(page="home")
        raise StopException()
    with pytest.raises(RerunException), page_log.page_run() as run:
        run.set(page="leads", user="ana")
        raise RerunException(RerunData())
    with pytest.raises(ZeroDivisionError), page_log.page_run() as run:
        run.set(page="dashboard", user="erin")
        _ = 1 / 0

    lines = lines_of(caplog, "page")
    assert [(line["page"], line["user"], line["status"], line["level"]) for line in lines] == [
        ("home", "kim", "ok", "INFO"), ("home", None, "stop", "INFO"),
        ("leads", "ana", "rerun", "INFO"), ("dashboard", "erin", "error", "ERROR")]
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    assert lines[3]["error"] == "ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" in lines[3]["traceback"]
    assert all("error" not in line and "traceback" not in line for line in lines[:3])


def test_app_py_leaves_one_line_per_script_run(app_db, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="handoff.page")
    stranger = app().run()
    assert not stranger.exception
    admin = logged_in(app_db("kim", Role.ADMIN)).run()
    assert not admin.exception

    lines = lines_of(caplog, "page")
    assert [(line["page"], line["user"], line["status"]) for line in lines] == [
        ("home", None, "stop"),  # the login form, then st.stop()
        ("home", "kim", "ok")]
    assert all(line["duration_ms"] > 0 for line in lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def served_lines(tmp_path, **env: str) -> list[str]:
    """Start `api serve`, ask for /api/v1/live with a query, stop it: its stderr lines."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "api", "serve", "--port", str(port)], cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/live",
                                   params={"token": "hnd_secret"})
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.05)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode in (0, -signal.SIGTERM), errors  # uvicorn re-raises the signal
    return errors.splitlines()


def test_api_serve_writes_json_lines_only_and_no_access_log_of_its_own(tmp_path):
    lines = served_lines(tmp_path, HANDOFF_REPLICA="api-7", HANDOFF_LOG_LEVEL="INFO")
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [line for line in parsed if line.get("event") == "request"]
    assert [(line["path"], line["status"], line["process"]) for line in requests] == [
        ("/api/v1/live", 200, "api-7")]  # tries before the port was bound reached no one
    assert not any("hnd_secret" in line for line in lines)
    assert not any(line.get("logger") == "uvicorn.access" for line in parsed)
    assert any("Uvicorn running" in line.get("message", "") for line in parsed)


def test_handoff_log_level_warning_turns_the_request_lines_off(tmp_path):
    lines = served_lines(tmp_path, HANDOFF_LOG_LEVEL="WARNING")
    assert not any('"event": "request"' in line for line in lines)
    assert not any('"level": "INFO"' in line for line in lines)
