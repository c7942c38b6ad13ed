"""Browser tests: the real app served by `streamlit run`, driven by Playwright in Debian's Chromium.

Skipped with a printed reason when Chromium is missing, unless HANDOFF_REQUIRE_BROWSER=1.
"""

from collections.abc import Iterator
from typing import NamedTuple

import pytest

from tests.browser.serving import served_demo, settle, submit_login

DEMO_LEADS = 400


class ServedApp(NamedTuple):
    """The served app's address, and the database it serves (tests may change it)."""

    url: str
    database_url: str


@pytest.fixture(scope="session")
def served_app(chromium, tmp_path_factory) -> Iterator[ServedApp]:
    """The app served on a free port over a freshly migrated and seeded SQLite database."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'handoff.db'}"
    with served_demo(database_url, DEMO_LEADS) as url:
        yield ServedApp(url, database_url)


@pytest.fixture(scope="session")
def app_url(served_app) -> str:
    """The served app's address."""
    return served_app.url


@pytest.fixture
def page(browser):
    """A page in a fresh browser context: no cookies, like a new visitor."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # generous: the suite must pass on a busy machine
    yield page
    context.close()


def log_in(page, url: str, username: str, password: str) -> None:
    """Fill in the login form at url and wait for the app to settle."""
    submit_login(page, url, username, password)
    settle(page)
