"""The login flow of app.py, through AppTest."""


from sqlmodel import Session, select

from core import clock
from core.permissions import Role
from db.engine import get_engine
from db.models import LoginAttempt
from tests.app.conftest import PASSWORD, app, logged_in


def submit(at, username: str, password: str):
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def test_a_stranger_sees_only_the_login_form(app_db):
    at = app().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.title[0].value == "Handoff"
    assert not at.metric


def test_login_with_the_right_password_opens_home(app_db):
    app_db("ana", Role.SALES_REP)
    at = submit(app().run(), "ana", PASSWORD)
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert at.title[0].value == "My worklist"  # a rep lands on the worklist
    assert at.session_state["login_password"] == ""


def test_a_wrong_password_is_refused_with_a_clear_message(app_db):
    app_db("ana", Role.SALES_REP)
    at = submit(app().run(), "ana", "not-my-password")
    assert not at.exception
    assert at.error[0].value == "Username or password is incorrect."
    assert at.text_input(key="login_username").value == "ana"


def test_the_sixth_try_after_five_failures_is_locked(app_db):
    app_db("ana", Role.SALES_REP)
    at = app().run()
    for _ in range(5):
        at = submit(at, "ana", "not-my-password")
    at = submit(at, "ana", PASSWORD)
    assert "Too many failed attempts for 'ana'" in at.error[0].value
    assert at.session_state["authentication_status"] is False
    with Session(get_engine()) as session:
        outcomes = session.exec(select(LoginAttempt.outcome)).all()
    assert outcomes == ["failed"] * 5 + ["locked"]


def test_a_deactivated_user_cannot_log_in(app_db):
    app_db("ana", Role.SALES_REP, active=False)
    at = submit(app().run(), "ana", PASSWORD)
    assert at.error[0].value == "This account is deactivated. Ask an administrator."


def test_a_session_ends_when_its_user_is_deactivated(app_db):
    ana = app_db("ana", Role.SALES_REP)
    app_db("root", Role.ADMIN)
    at = logged_in(ana).run()
    assert at.title[0].value == "My worklist"  # a rep lands on the worklist
    from core import services

    with Session(get_engine()) as session:
        services.set_active(session=session, actor=services.OPERATOR, username="ana",
                            active=False)
        session.commit()
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.session_state["authentication_status"] is None


def test_logout_returns_to_the_login_form(app_db):
    at = logged_in(app_db("ana", Role.SALES_REP)).run()
    at.sidebar.button(key="auth_logout").click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is None
    assert at.session_state["logout"] is True
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_login_attempt_times_are_stored_in_utc(app_db):
    app_db("ana", Role.SALES_REP)
    submit(app().run(), "ana", PASSWORD)
    with Session(get_engine()) as session:
        attempt = session.exec(select(LoginAttempt)).one()
    assert attempt.at.tzinfo is not None
    assert abs((clock.now() - attempt.at).total_seconds()) < 120
