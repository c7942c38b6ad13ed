"""Login wiring: passwords are checked by core.services against the database; the
streamlit-authenticator keeps the session keys and writes the re-login cookie, whose token
core.session_token issues and reads.

Every session remembers the instant it began (`auth_issued_at`: the login, or the issue of the
cookie it was restored from); core.services.resume_session refuses a session that began before
the user's sessions were last revoked, on every run."""

import os
from datetime import datetime, timedelta

import streamlit as st
import streamlit_authenticator as stauth

from core import clock, services, session_token
from core.permissions import Role
from ui.navigation import PageSpec, spec
from ui.services import call

COOKIE_NAME = "handoff_session"
COOKIE_EXPIRY_DAYS = 7
COOKIE_LIFETIME = timedelta(days=COOKIE_EXPIRY_DAYS)
ISSUED_AT = "auth_issued_at"
MIN_COOKIE_KEY_BYTES = 32


class MissingCookieSecret(RuntimeError):
    """The app was started without the login cookie secret."""


def cookie_key() -> str:
    """The cookie-signing secret: HANDOFF_COOKIE_KEY, else [auth] cookie_key in secrets.toml."""
    key = os.environ.get("HANDOFF_COOKIE_KEY")
    if not key:
        try:
            key = st.secrets["auth"]["cookie_key"]
        except (FileNotFoundError, KeyError):
            key = None
    if not key or len(key.encode()) < MIN_COOKIE_KEY_BYTES:
        raise MissingCookieSecret(
            "No login cookie secret of at least 32 bytes. Run `make run`, or "
            "`python -m core.cli secrets init`, to create .streamlit/secrets.toml."
        )
    return key


def authenticator() -> stauth.Authenticate:
    """The authenticator for this run (it renders the cookie component, so once per run)."""
    return stauth.Authenticate(
        {"usernames": {}}, COOKIE_NAME, cookie_key(), COOKIE_EXPIRY_DAYS, auto_hash=False
    )


def session_actor() -> services.Actor | None:
    """The user logged in to this session, if they are still active and their sessions were
    not revoked since this one began."""
    if not st.session_state.get("authentication_status"):
        return None
    return _load(st.session_state.get("username"), st.session_state.get(ISSUED_AT))


def restore_from_cookie(auth: stauth.Authenticate) -> bool:
    """Log this session in from a valid signed cookie; True when that happened. Any cookie
    that is not a current token of ours (forged, `alg: none`, expired, revoked, malformed) is
    ignored and the login form shows."""
    if st.session_state.get("logout"):
        return False  # logged out in this session: the cookie is being deleted
    claim = session_token.read(st.context.cookies.get(COOKIE_NAME), cookie_key(), clock.now())
    if claim is None:
        return False
    actor = call(services.resume_session, username=claim.username, issued_at=claim.issued_at)
    if actor is None:
        return False
    _remember(actor, claim.issued_at)
    return True


def sync_cookie(auth: stauth.Authenticate) -> None:
    """Write or delete the re-login cookie after a login or logout in this session."""
    if st.session_state.pop("auth_set_cookie", False):
        token = session_token.issue(st.session_state["username"], cookie_key(),
                                    st.session_state[ISSUED_AT], COOKIE_LIFETIME)
        # The browser keeps the cookie by its own clock, so its expiry is real time.
        auth.cookie_controller.cookie_model.cookie_manager.set(
            COOKIE_NAME, token, expires_at=datetime.now() + COOKIE_LIFETIME)
    if st.session_state.pop("auth_delete_cookie", False):
        auth.cookie_controller.delete_cookie()


def login_form() -> None:
    """The login form, centred; a successful login reruns straight into the app."""
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.title("Handoff")
        st.caption("One agreement between sales and marketing, and live numbers against it.")
        with st.form("login"):
            st.subheader("Log in")
            st.text_input("Username", key="login_username", autocomplete="username")
            st.text_input(
                "Password", type="password", key="login_password",
                autocomplete="current-password",
            )
            st.form_submit_button("Log in", type="primary", on_click=_attempt_login)
        if message := st.session_state.get("login_error"):
            st.error(message)


def logout_button() -> None:
    """A sidebar logout button."""
    st.sidebar.button("Log out", key="auth_logout", on_click=_log_out, icon=":material/logout:")


def require_page(url_path: str) -> services.Actor:
    """Stop the page unless the logged-in user's role may open it (defense in depth)."""
    page: PageSpec = spec(url_path)
    actor: services.Actor | None = st.session_state.get("actor")
    if actor is None or not st.session_state.get("authentication_status"):
        st.error("Please log in.")
        st.stop()
    if not page.opens_for(actor.role):
        st.error(f"{Role(actor.role).starting_a_sentence} cannot open {page.title}.")
        st.stop()
    return actor


def _attempt_login() -> None:
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")
    st.session_state["login_password"] = ""
    if not username or not password:
        st.session_state["login_error"] = "Enter your username and password."
        return
    result = call(services.authenticate, username=username, password=password)
    if not result.ok:
        st.session_state["authentication_status"] = False
        st.session_state["login_error"] = result.message
        return
    st.session_state.pop("login_error", None)
    st.session_state["logout"] = None
    st.session_state["auth_set_cookie"] = True
    st.session_state["auth_just_logged_in"] = True
    _remember(result.actor, clock.now())


def _load(username: str | None, issued_at: datetime | None) -> services.Actor | None:
    """Re-read the user from the database: a deactivated user, or one whose sessions were
    revoked since this one began, is signed out at once."""
    if not username or issued_at is None:
        _sign_out()
        return None
    actor = call(services.resume_session, username=username, issued_at=issued_at)
    if actor is None:
        _sign_out()
    else:
        _remember(actor, issued_at)
    return actor


def _remember(actor: services.Actor, issued_at: datetime) -> None:
    st.session_state.update(
        authentication_status=True, username=actor.username, name=actor.display_name,
        email=actor.email, roles=[actor.role], actor=actor, **{ISSUED_AT: issued_at},
    )


def _log_out() -> None:
    """Revoke the user's re-login cookies in the database, then end this session."""
    call(services.sign_out, username=st.session_state.get("username") or "")
    _sign_out()


def _sign_out() -> None:
    st.session_state.update(
        authentication_status=None, username=None, name=None, email=None, roles=None,
        actor=None, logout=True, auth_delete_cookie=True, **{ISSUED_AT: None},
    )
