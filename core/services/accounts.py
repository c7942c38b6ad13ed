"""Users, logins and lockout."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from core import passwords
from core.errors import InvalidInput, NotFound
from core.permissions import Action, Role, require
from core.services.audit import record
from core.services.validation import bounded_text
from db import locks
from db.models import LoginAttempt, User, utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Names the audit trail uses for actions nobody logged in for; a person named so would pass
# for the machine.
RESERVED_USERNAMES = frozenset({"cli", "system", "worker", "api", "operator", "anonymous",
                                "handoff"})
# Widths of the users table's text columns (checked before the database sees a value).
NAME_MAX_CHARS, EMAIL_MAX_CHARS, TEAM_MAX_CHARS = 120, 254, 64
ADMINS_LOCK = "users:admins"


@dataclass(frozen=True)
class Actor:
    """The logged-in user a service acts for."""

    username: str
    display_name: str
    role: str
    team: str | None = None
    email: str = ""


OPERATOR = Actor(username="cli", display_name="Operator (command line)", role=Role.ADMIN)


@dataclass(frozen=True)
class UserView:
    """A user as the admin page lists it (never the password hash)."""

    username: str
    display_name: str
    email: str
    role: str
    team: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class LoginResult:
    """The answer to a login attempt: the actor on success, else a message to show."""

    actor: Actor | None
    message: str

    @property
    def ok(self) -> bool:
        """Whether the login succeeded."""
        return self.actor is not None


def authenticate(
    *, session: Session, username: str, password: str, now: datetime | None = None
) -> LoginResult:
    """Check a password against the stored bcrypt hash, with lockout; records every attempt."""
    now = now or utcnow()
    username = username.strip().lower()
    locked_until = _locked_until(session, username, now)
    if locked_until is not None:
        _record_attempt(session, username, now, "locked")
        minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))
        return LoginResult(
            None,
            f"Too many failed attempts for '{username}'. Login is locked for {minutes} more "
            f"minute{'s' if minutes != 1 else ''}.",
        )
    user = _find(session, username)
    if not passwords.verify(password, user.password_hash if user else None):
        _record_attempt(session, username, now, "failed")
        return LoginResult(None, "Username or password is incorrect.")
    if not user.active:
        _record_attempt(session, username, now, "inactive")
        return LoginResult(None, "This account is deactivated. Ask an administrator.")
    _record_attempt(session, username, now, "succeeded")
    return LoginResult(_actor(user), f"Welcome, {user.display_name}.")


def get_actor(*, session: Session, username: str) -> Actor | None:
    """The active user with this username, or None (deactivated users get no actor)."""
    user = _find(session, username)
    return _actor(user) if user and user.active else None


def resume_session(*, session: Session, username: str, issued_at: datetime) -> Actor | None:
    """The actor for a session or re-login cookie that began at `issued_at`, unless it was
    revoked since (log out, password reset, role change, deactivation, reactivation) or the
    user is deactivated."""
    user = _find(session, username)
    if user is None or not user.active:
        return None
    if user.sessions_revoked_at is not None and issued_at <= user.sessions_revoked_at:
        return None
    return _actor(user)


def sign_out(*, session: Session, username: str, now: datetime | None = None) -> None:
    """Log a user out everywhere: their existing sessions and re-login cookies stop working."""
    user = _find(session, username)
    if user is not None:
        _revoke_sessions(user, now)
        session.add(user)


def list_users(*, session: Session, actor: Actor) -> list[UserView]:
    """Every user, in the role order of the permission table, then by username."""
    require(actor.role, Action.MANAGE_USERS)
    users = session.exec(select(User).order_by(User.username)).all()
    role_order = {role.value: position for position, role in enumerate(Role)}
    return [_view(user) for user in sorted(users, key=lambda user: role_order[user.role])]


def add_user(
    *,
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    email: str,
    role: str,
    password: str,
    team: str | None = None,
) -> UserView:
    """Create a user with a bcrypt-hashed password."""
    require(actor.role, Action.MANAGE_USERS)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "username", "use 2–64 lowercase letters, digits, dots, dashes or underscores"
        )
    if username in RESERVED_USERNAMES:
        raise InvalidInput("username", f"'{username}' is reserved for actions the audit trail "
                           "records without a person (reserved: "
                           f"{', '.join(sorted(RESERVED_USERNAMES))})")
    if _find(session, username) is not None:
        raise InvalidInput("username", f"'{username}' is already taken")
    user = User(
        username=username,
        display_name=bounded_text("name", display_name, limit=NAME_MAX_CHARS),
        email=_valid_email(email),
        role=_valid_role(role),
        team=bounded_text("team", team, required=None, limit=TEAM_MAX_CHARS) or None,
        password_hash=passwords.hash_password(password),
    )
    session.add(user)
    session.flush()
    record(
        session, actor=actor.username, action="user.add", object_type="user",
        object_id=username, after=_public(user),
    )
    return _view(user)


def change_role(*, session: Session, actor: Actor, username: str, role: str) -> UserView:
    """Give a user another role; the last active admin keeps theirs, even when two admins
    demote each other at once. The user's sessions end (they were granted under the old role)."""
    require(actor.role, Action.MANAGE_USERS)
    locks.hold(session, ADMINS_LOCK)
    user = _get(session, username)
    role = _valid_role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(session, user, "role")
    _revoke_sessions(user)
    return _update(session, actor, user, "user.change_role", role=role)


def set_active(*, session: Session, actor: Actor, username: str, active: bool) -> UserView:
    """Deactivate (or reactivate) a user; a deactivated user cannot log in, and sessions from
    before either change never come back."""
    require(actor.role, Action.MANAGE_USERS)
    locks.hold(session, ADMINS_LOCK)
    user = _get(session, username)
    if not active and user.role == Role.ADMIN:
        _keep_an_admin(session, user, "active")
    _revoke_sessions(user)
    action = "user.activate" if active else "user.deactivate"
    return _update(session, actor, user, action, active=active)


def reset_password(*, session: Session, actor: Actor, username: str, new_password: str) -> None:
    """Set a new password for a user (the hash changes; the audit trail never sees it). Every
    session and re-login cookie from before the reset stops working."""
    require(actor.role, Action.MANAGE_USERS)
    user = _get(session, username)
    user.password_hash = passwords.hash_password(new_password)
    _revoke_sessions(user)
    session.add(user)
    record(
        session, actor=actor.username, action="user.reset_password", object_type="user",
        object_id=user.username,
    )


def _update(session: Session, actor: Actor, user: User, action: str, **changes) -> UserView:
    before = _public(user)
    for name, value in changes.items():
        setattr(user, name, value)
    session.add(user)
    session.flush()
    record(
        session, actor=actor.username, action=action, object_type="user",
        object_id=user.username, before=before, after=_public(user),
    )
    return _view(user)


def people_names(*, session: Session, actor: Actor) -> dict[str, str]:
    """Every user's display name by username (deactivated users too: their names stay on what
    they did)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return dict(session.exec(_NAMES).all())


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """People's names by username, for showing who did what (a username no user has, such as
    "system", is missing: callers keep the username)."""
    if not usernames:
        return {}
    return dict(session.exec(_NAMES.where(col(User.username).in_(sorted(usernames)))).all())


_NAMES = select(User.username, User.display_name)


def _revoke_sessions(user: User, now: datetime | None = None) -> None:
    user.sessions_revoked_at = now or utcnow()


def _locked_until(session: Session, username: str, now: datetime) -> datetime | None:
    """End of the lockout that 5 failures within 15 minutes started, if it is still running."""
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.outcome == "succeeded"
        )
    ).one()
    since = now - FAILURE_WINDOW - LOCKOUT
    if last_success is not None:
        since = max(since, last_success)
    failures = session.exec(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.outcome == "failed",
            LoginAttempt.at > since,
            LoginAttempt.at <= now,
        )
        .order_by(LoginAttempt.at)
    ).all()
    locked_until = None
    for first, fifth in zip(failures, failures[MAX_FAILURES - 1 :], strict=False):
        if fifth - first <= FAILURE_WINDOW:
            locked_until = fifth + LOCKOUT
    return locked_until if locked_until is not None and now < locked_until else None


def _record_attempt(session: Session, username: str, at: datetime, outcome: str) -> None:
    session.add(LoginAttempt(username=username[:64], at=at, outcome=outcome))


def _keep_an_admin(session: Session, user: User, field: str) -> None:
    others = session.exec(
        select(func.count()).where(
            User.role == Role.ADMIN, User.active, User.id != user.id
        )
    ).one()
    if others == 0:
        raise InvalidInput(field, f"'{user.username}' is the last active administrator")


def _find(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def _get(session: Session, username: str) -> User:
    user = _find(session, username)
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def _valid_role(role: str) -> str:
    if role not in set(Role):
        raise InvalidInput("role", f"'{role}' is not one of {', '.join(Role)}")
    return str(Role(role))


def _valid_email(email: str) -> str:
    email = bounded_text("email", email, limit=EMAIL_MAX_CHARS)
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput("email", f"'{email}' is not an email address")
    return email


def _actor(user: User) -> Actor:
    return Actor(
        username=user.username, display_name=user.display_name, role=user.role,
        team=user.team, email=user.email,
    )


def _view(user: User) -> UserView:
    return UserView(
        username=user.username, display_name=user.display_name, email=user.email,
        role=user.role, team=user.team, active=user.active, created_at=user.created_at,
    )


def _public(user: User) -> dict:
    """The audited fields of a user: never the password hash."""
    return {
        "display_name": user.display_name, "email": user.email, "role": user.role,
        "team": user.team, "active": user.active,
    }
