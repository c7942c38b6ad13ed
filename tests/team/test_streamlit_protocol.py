"""The load test's Streamlit client (benchmarks/load/streamlit_client.py) against the real app:
`streamlit run` over a seeded demo workspace, driven over the websocket as a browser tab would,
with the re-login cookie a browser login sets. What the locust users rely on: the page a cookie
logs into, a touch logged through the form reaching the database, the login form for a
stranger, a failure for an error box or an exception, an idle tab kept live, and a closed
connection said as such."""

import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import NamedTuple

import pytest
from sqlmodel import Session, create_engine, select

from benchmarks.load.streamlit_client import PageError, SessionClosed, StreamlitSession
from core import clock, session_token
from core.demo import DEMO_PASSWORD
from db.models import Touch
from tests.browser.serving import served
from ui.auth import COOKIE_NAME

DEMO_LEADS = 400
LIVE_SECONDS = "1"  # the live pages' check, HANDOFF_LIVE_SECONDS (the team setup has 30)


class ServedApp(NamedTuple):
    """The served app's address, the key its re-login cookies are signed with, its database."""

    url: str
    cookie_key: str
    database_url: str


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[ServedApp]:
    """The demo served on a free port over a fresh SQLite database, with a known cookie key and
    live pages."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('protocol') / 'handoff.db'}"
    key = secrets.token_hex(32)
    with served(database_url, seed=["demo", "seed", "--leads", str(DEMO_LEADS)],
                env={"HANDOFF_COOKIE_KEY": key, "HANDOFF_LIVE_SECONDS": LIVE_SECONDS}) as url:
        yield ServedApp(url, key, database_url)


def logged_in(app: ServedApp, username: str) -> StreamlitSession:
    """A new tab holding the re-login cookie a browser login would have set for username."""
    token = session_token.issue(username, app.cookie_key, clock.now(), timedelta(hours=1))
    return StreamlitSession(app.url, {COOKIE_NAME: token})


def shows_login_form(session: StreamlitSession) -> bool:
    """The login form is on the page: its two fields (find_widget raises without them) and its
    submit button."""
    session.find_widget("Username", "text_input")
    session.find_widget("Password", "text_input")
    return session.find_widget("Log in", "button").is_form_submitter


def idle_until(session: StreamlitSession, done: Callable[[list[float]], bool],
               timeout: float = 30) -> bool:
    """Keep the tab idle until done(the auto reruns so far) holds, or the timeout passes."""
    deadline, took = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        took += session.idle(0.5)
        if done(took):
            return True
    return False


def test_the_cookie_opens_the_reps_worklist_with_its_lead_cards(app):
    with logged_in(app, "ana") as session:
        elapsed = session.open("leads")

        texts = session.texts()
        assert "My worklist" in texts
        assert any(text.startswith("Signed in as **Ana Souza**") for text in texts)
        cards = [w for w in session.widgets() if w.is_form_submitter and w.label == "Log it"]
        assert cards and all(w.form_id.startswith("work_touch_") for w in cards)
        assert any("(lead?lead=" in text for text in texts)  # each card links its lead
        assert elapsed > 0 and session.received_bytes > 0


def test_a_touch_logged_through_the_form_is_stored_once(app):
    marker = f"protocol-test:{secrets.token_hex(4)}"
    with logged_in(app, "ana") as session:
        session.open("leads")
        form_id = session.find_widget("Log it", "button").form_id
        lead_id = int(form_id.removeprefix("work_touch_"))

        session.submit_form({"Touch": "Call", "Outcome": "Connected", "Note": marker}, "Log it",
                            form_id=form_id)

        assert "Logged a call (connected)." in session.alerts("success")
    engine = create_engine(app.database_url)
    with Session(engine) as db:
        stored = db.exec(select(Touch).where(Touch.note == marker)).all()
    engine.dispose()
    assert [(t.lead_id, t.kind, t.outcome, t.rep) for t in stored] == [
        (lead_id, "call", "connected", "ana")]


def test_a_stranger_gets_the_login_form(app):
    with StreamlitSession(app.url) as session:
        session.open("leads")

        assert shows_login_form(session)
        assert "My worklist" not in session.texts()


def test_a_login_through_the_form_leaves_the_re_login_cookie(app):
    """The login's runs (the switch to the landing page, the cookie component's write) are
    waited for, and the cookie the component writes logs a new tab in."""
    with StreamlitSession(app.url) as session:
        session.open("")
        session.submit_form({"Username": "ana", "Password": DEMO_PASSWORD}, "Log in")

        assert "My worklist" in session.texts()
        cookies = session.cookies()
    assert COOKIE_NAME in cookies
    with StreamlitSession(app.url, cookies) as again:
        again.open("leads")
        assert "My worklist" in again.texts()


def test_the_log_out_button_shows_the_login_form(app):
    with logged_in(app, "ana") as session:
        session.open("leads")

        session.click("Log out")

        assert shows_login_form(session)


def test_an_error_box_is_a_page_error(app):
    with logged_in(app, "sofia") as session, pytest.raises(PageError) as raised:
        session.open("dashboard", "period=not-a-period")

    assert any("'not-a-period' is not a month" in error for error in raised.value.errors)
    assert raised.value.elapsed > 0


def test_an_address_with_no_instant_says_so_and_shows_now(app):
    """An ?as_of= that is no instant is named in a warning, and the page measures now."""
    with logged_in(app, "sofia") as session:
        session.open("dashboard", "as_of=not-a-date")

        assert any("'not-a-date' is not an ISO 8601 instant" in text
                   for text in session.alerts("warning"))
        assert "Sales commits to" in " ".join(session.texts())


def test_an_idle_tab_reruns_its_live_fragment_and_redraws_on_a_change(app):
    with logged_in(app, "ben") as watching, logged_in(app, "ben") as working:
        watching.open("leads")
        shown = watching.texts()
        assert idle_until(watching, bool)  # the fragment's run_every timer

        working.open("leads")
        working.submit_form({"Touch": "Email", "Note": "seen from the other tab"}, "Log it")

        assert idle_until(watching, lambda _: watching.texts() != shown)
        assert "My worklist" in watching.texts()


def test_a_closed_connection_is_session_closed_and_a_new_session_carries_on(app):
    with logged_in(app, "ana") as session:
        session.open("leads")
        session._ws.send("not a protobuf")  # a text frame: the server closes the connection

        with pytest.raises(SessionClosed):
            session.open("leads")

        with StreamlitSession(app.url, session.cookies()) as again:
            again.open("leads")
            assert "My worklist" in again.texts()
