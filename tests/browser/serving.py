"""Serve the real app over a seeded demo database, for the browser tests and the screenshots.

    with served_demo(database_url, leads=400) as url: ...

Seeds with `python -m core.cli` (db upgrade, demo seed), then runs `streamlit run app.py` on a
free port until the block ends.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ui.auth import COOKIE_NAME

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
QUIET_MS = 750
# True once Streamlit has been idle for quietMs: the script not running and no element left
# stale by an earlier run. A login reruns the page more than once (the cookie component's write
# triggers another run), so a single "not running" moment can fall between two runs.
SETTLED = """quietMs => {
    const app = document.querySelector('[data-testid="stApp"]');
    const busy = !app || app.getAttribute('data-test-script-state') !== 'notRunning'
        || document.querySelector('[data-stale="true"]') !== null;
    const now = performance.now();
    if (busy) { window.handoffQuietSince = undefined; return false; }
    if (window.handoffQuietSince === undefined) window.handoffQuietSince = now;
    return now - window.handoffQuietSince >= quietMs;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path,
                       timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")


@contextmanager
def served_demo(database_url: str, leads: int) -> Iterator[str]:
    """The app's URL, served over a freshly migrated and seeded database at database_url."""
    with served(database_url, seed=["demo", "seed", "--leads", str(leads)]) as url:
        yield url


@contextmanager
def served(database_url: str, *, seed: list[str] | None = None,
           env: dict[str, str] | None = None) -> Iterator[str]:
    """The app's URL, served over the database at database_url once migrated (and seeded by
    the `seed` command when given), with `env` added to the app's environment."""
    env = {**os.environ, "DATABASE_URL": database_url,
           "HANDOFF_COOKIE_KEY": secrets.token_hex(32), **(env or {})}
    for command in (["db", "upgrade"], *([seed] if seed else [])):
        subprocess.run([sys.executable, "-m", "core.cli", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=600)
    port = free_port()
    # The server's log (a JSON line per page run) goes to a file: a pipe nobody reads would
    # fill up and stop the server mid-suite.
    with tempfile.NamedTemporaryFile("w", prefix="streamlit-", suffix=".log") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address",
             "127.0.0.1", "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, Path(log.name))
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


def settle(page, quiet_ms: int = QUIET_MS) -> None:
    """Wait until Streamlit has finished every pending run and stayed idle for quiet_ms."""
    page.evaluate("() => { window.handoffQuietSince = undefined; }")
    page.wait_for_function(SETTLED, arg=quiet_ms, polling=100)


def submit_login(page, url: str, username: str, password: str) -> None:
    """Open url, log in through the form, and wait until the app shows the logged-in sidebar
    and the browser holds the re-login cookie (written asynchronously by a component), so that
    opening another URL afterwards finds the user logged in."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
    page.wait_for_function(
        "name => document.cookie.split('; ').some(cookie => cookie.startsWith(name + '='))",
        arg=COOKIE_NAME, polling=100)


def open_page(page, url: str, heading: str) -> None:
    """Open url in a logged-in browser (the cookie logs the new session in) and wait until the
    page showing heading has settled."""
    page.goto(url)
    # .first: while a rerun replaces the page, the old heading may linger next to the new one.
    page.get_by_role("heading", name=heading, exact=True).first.wait_for()
    settle(page)
