"""In a real browser: a re-login cookie issued before a password reset, a role change, a
deactivation or a reactivation no longer logs anyone in, and a forged cookie of any kind
shows the login form."""

import base64
import json
import secrets
from collections.abc import Callable

import pytest
from sqlmodel import create_engine

from core import clock, services
from core.permissions import Role
from db.engine import session_scope
from tests.browser.conftest import log_in
from tests.browser.serving import settle
from ui.auth import COOKIE_NAME

PASSWORD = "a long browser password"


def add_user(database_url: str, role: Role = Role.SALES_HEAD) -> str:
    """A fresh user of the served database (the demo's users stay as they are)."""
    username = f"cookie-{secrets.token_hex(3)}"
    engine = create_engine(database_url, connect_args={"timeout": 30})
    with session_scope(engine) as session:
        services.add_user(session=session, actor=services.OPERATOR, username=username,
                          display_name="Cookie Tester", email=f"{username}@example.com",
                          role=role, password=PASSWORD)
    engine.dispose()
    return username


def change(database_url: str, step: Callable) -> None:
    engine = create_engine(database_url, connect_args={"timeout": 30})
    with session_scope(engine) as session:
        step(session)
    engine.dispose()


def cookie_after_login(browser, url: str, username: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, url, username, PASSWORD)
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE_NAME)
    context.close()
    return cookie


def shows_the_login_form(browser, url: str, cookie: dict) -> bool:
    """Whether a new visitor holding `cookie` gets the login form (and no traceback)."""
    context = browser.new_context()
    context.add_cookies([cookie])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    login_form = page.get_by_role("textbox", name="Password")
    login_form.or_(page.get_by_role("button", name="Log out")).first.wait_for()
    settle(page)
    shown = (page.get_by_role("button", name="Log out").count() == 0
             and page.locator('[data-testid="stException"]').count() == 0)
    context.close()
    return shown


CHANGES = {
    "password reset": lambda username: lambda session: services.reset_password(
        session=session, actor=services.OPERATOR, username=username,
        new_password="another long password"),
    "role change": lambda username: lambda session: services.change_role(
        session=session, actor=services.OPERATOR, username=username, role=Role.EXEC),
    "deactivation": lambda username: lambda session: services.set_active(
        session=session, actor=services.OPERATOR, username=username, active=False),
    "deactivation then reactivation": lambda username: lambda session: [
        services.set_active(session=session, actor=services.OPERATOR, username=username,
                            active=active) for active in (False, True)],
}


@pytest.mark.parametrize("name", CHANGES)
def test_an_old_cookie_shows_the_login_form_after_the_change(browser, served_app, name):
    username = add_user(served_app.database_url)
    cookie = cookie_after_login(browser, served_app.url, username)
    assert not shows_the_login_form(browser, served_app.url, cookie)  # the cookie works...
    change(served_app.database_url, CHANGES[name](username))
    assert shows_the_login_form(browser, served_app.url, cookie)  # ...until the change


def forged(payload: dict, header: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part(header)}.{part(payload)}."


@pytest.mark.parametrize("value", [
    forged({"username": "sofia", "iat": clock.now().timestamp(),
            "exp_date": clock.now().timestamp() + 86_400}, {"alg": "none", "typ": "JWT"}),
    forged({"username": "sofia", "exp_date": "tomorrow"}, {"alg": "HS256", "typ": "JWT"}),
    "garbage%%%",
    "a.b.c",
], ids=["alg none", "bad claims, no signature", "garbage", "three parts"])
def test_a_forged_or_malformed_cookie_shows_the_login_form(browser, served_app, value):
    host = served_app.url.split("//", 1)[1].split(":")[0]
    cookie = {"name": COOKIE_NAME, "value": value, "domain": host, "path": "/"}
    assert shows_the_login_form(browser, served_app.url, cookie)
