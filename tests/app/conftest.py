"""AppTest fixtures: a migrated SQLite file the app reaches through DATABASE_URL."""

import secrets
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core import clock, services
from core.demo import seed_demo
from core.permissions import Role
from db import migrate
from db.engine import get_engine

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-password"


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Iterator[Callable[..., services.Actor]]:
    """Point the app at a fresh, migrated database; yields a function that adds users."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("HANDOFF_COOKIE_KEY", secrets.token_hex(32))
    migrate.upgrade()

    def add_user(username: str, role: Role, active: bool = True) -> services.Actor:
        with Session(get_engine()) as session:
            services.add_user(
                session=session, actor=services.OPERATOR, username=username,
                display_name=f"{username.title()} Tester", email=f"{username}@example.com",
                role=role, password=PASSWORD,
            )
            if not active:
                services.set_active(session=session, actor=services.OPERATOR,
                                    username=username, active=False)
            session.commit()
        return services.Actor(username, f"{username.title()} Tester", role, None,
                              f"{username}@example.com")

    yield add_user
    get_engine().dispose()


def app(script: str = "app.py") -> AppTest:
    """An AppTest of a script of the app."""
    return AppTest.from_file(str(ROOT / script), default_timeout=30)


def opened(actor: services.Actor, script: str, as_of: str | None = None) -> AppTest:
    """A logged-in AppTest of a script, run once (at `?as_of=` when given) without exception."""
    at = logged_in(actor, script)
    if as_of:
        at.query_params["as_of"] = as_of
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def small_demo(app_db, monkeypatch) -> Callable[[date], None]:
    """Seed a 3,000-lead demo workspace as of a given day into the app's database."""
    monkeypatch.setenv("HANDOFF_BCRYPT_ROUNDS", "4")

    def seed(today: date) -> None:
        with Session(get_engine()) as session:
            seed_demo(session, leads=3000, today=today)
            session.commit()

    return seed


def logged_in(actor: services.Actor, script: str = "app.py") -> AppTest:
    """An AppTest whose session is logged in as the actor (the authenticator's keys)."""
    at = app(script)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = actor.username
    at.session_state["name"] = actor.display_name
    at.session_state["roles"] = [actor.role]
    at.session_state["actor"] = actor
    at.session_state["auth_issued_at"] = clock.now()
    return at
