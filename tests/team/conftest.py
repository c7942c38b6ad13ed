"""The team as it is deployed (deploy.team): two app replicas (Streamlit and the REST API each)
and two workers over PostgreSQL and Redis, behind HAProxy, on the demo workspace, with a real
SMTP server for the alerts and a local HubSpot for the sync.

The team needs TEST_DATABASE_URL (the team's own database is created beside it, `<name>_team`),
REDIS_URL and HAProxy (`make proxy`); without them the tests are skipped with the reason printed,
unless HANDOFF_REQUIRE_TEAM=1 (as in CI), which makes that a failure.
"""

import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from core import secret_box
from core.demo import DEMO_PASSWORD
from deploy.team import HAPROXY, Team, TeamConfig, ensure_database
from tests.browser.serving import CHROMIUM, submit_login
from tests.smtp_server import SmtpServer

DEMO_LEADS = 400


def _missing() -> str | None:
    if not os.environ.get("TEST_DATABASE_URL"):
        return "the team tests need TEST_DATABASE_URL (PostgreSQL)"
    if not os.environ.get("REDIS_URL"):
        return "the team tests need REDIS_URL"
    if not (shutil.which("haproxy") or Path(HAPROXY).exists()):
        return "the team tests need HAProxy (`make proxy`)"
    if not CHROMIUM.exists():
        return f"the team tests need Debian's chromium at {CHROMIUM}"
    return None


@pytest.fixture(scope="session")
def team_requirements() -> None:
    if reason := _missing():
        if os.environ.get("HANDOFF_REQUIRE_TEAM") == "1":
            pytest.fail(f"HANDOFF_REQUIRE_TEAM=1 but {reason}")
        print(f"\nSKIPPING team tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def team_database_url(team_requirements) -> str:
    """A fresh PostgreSQL database of the team's own, beside the test database."""
    test_url = make_url(os.environ["TEST_DATABASE_URL"])
    url = test_url.set(database=f"{test_url.database}_team").render_as_string(
        hide_password=False)
    ensure_database(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def crm() -> Iterator[HTTPServer]:
    """A local HTTP server for the HubSpot API (tests/fakes/hubspot.py answers on it)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="session")
def team(team_database_url, smtp, tmp_path_factory) -> Iterator[Team]:
    """The team on the demo (seeded once), its workers checking every second."""
    queue = f"team-{uuid.uuid4().hex[:10]}"
    config = TeamConfig(
        database_url=team_database_url, redis_url=os.environ["REDIS_URL"], replicas=2,
        workers=2, port=0, state_dir=tmp_path_factory.mktemp("team"),
        env={"HANDOFF_COOKIE_KEY": secrets.token_hex(32),
             "HANDOFF_SECRET_KEY": secret_box.new_key(),
             "HANDOFF_WORKER_NAME": queue, "HANDOFF_WORKER_PERIODIC_SECONDS": "1",
             "HANDOFF_WORKER_RETRY_SECONDS": "1", "HANDOFF_WORKER_LEASE_SECONDS": "10",
             "HANDOFF_SMTP_URL": smtp.url, "HANDOFF_MAIL_FROM": "handoff@example.com",
             "HANDOFF_ALERT_BATCH_SECONDS": "0", "HANDOFF_APP_URL": "http://handoff.test"})
    team = Team(config)
    team.seed(["demo", "seed", "--leads", str(DEMO_LEADS)])
    with team:
        yield team
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


@pytest.fixture(scope="session")
def team_engine(team):
    engine = create_engine(team.config.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def person(team_requirements, browser):
    """`person(url, username)`: a logged-in page in a browser context of its own."""
    contexts = []

    def open_as(url: str, username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        submit_login(page, url, username, DEMO_PASSWORD)
        return page

    yield open_as
    for context in contexts:
        context.close()
