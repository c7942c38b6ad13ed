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
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{process.stdout.read()}")
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
    env = {**os.environ, "DATABASE_URL": database_url,
           "HANDOFF_COOKIE_KEY": secrets.token_hex(32)}
    for command in (["db", "upgrade"], ["demo", "seed", "--leads", str(leads)]):
        subprocess.run([sys.executable, "-m", "core.cli", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=600)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def submit_login(page, url: str, username: str, password: str) -> None:
    """Open url, log in through the form, and wait until the app shows the logged-in sidebar."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
