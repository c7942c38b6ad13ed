"""Users, logins, lockout and the admin services, on a real database."""

from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from sqlmodel import select

from core import clock, services
from core.errors import InvalidInput, NotFound
from core.permissions import PermissionDenied, Role
from core.services.accounts import RESERVED_USERNAMES
from core.services.audit import acting_through
from db.models import AuditEvent, LoginAttempt, User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def add(session, username, role=Role.SALES_REP, password=PASSWORD, **kwargs):
    """Create a user as the operator."""
    return services.add_user(
        session=session, actor=services.OPERATOR, username=username,
        display_name=username.title(), email=f"{username}@example.com", role=role,
        password=password, **kwargs,
    )


def login(session, username, password=PASSWORD, at=T0):
    return services.authenticate(session=session, username=username, password=password, now=at)


def actor(session, username):
    return services.get_actor(session=session, username=username)


def test_password_is_stored_only_as_a_bcrypt_hash(session):
    add(session, "ana")
    stored = session.exec(select(User).where(User.username == "ana")).one().password_hash
    assert PASSWORD not in stored
    assert stored.startswith("$2b$")
    assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())
    audit = session.exec(select(AuditEvent)).all()
    assert PASSWORD not in repr([(e.before, e.after) for e in audit])
    assert stored not in repr([(e.before, e.after) for e in audit])


def test_login_succeeds_with_the_right_password_and_records_it(session):
    add(session, "ana", team="Inbound East")
    result = login(session, "Ana ")
    assert result.ok
    assert result.actor == services.Actor("ana", "Ana", "sales_rep", "Inbound East",
                                          "ana@example.com")
    outcomes = session.exec(select(LoginAttempt.outcome)).all()
    assert outcomes == ["succeeded"]


def test_wrong_password_and_unknown_user_get_the_same_answer(session):
    add(session, "ana")
    wrong = login(session, "ana", "not the password")
    unknown = login(session, "nobody", "whatever-it-is")
    assert not wrong.ok and not unknown.ok
    assert wrong.message == unknown.message == "Username or password is incorrect."


def test_five_failures_within_15_minutes_lock_the_username_for_15_minutes(session):
    add(session, "ana")
    for minute in range(5):
        assert not login(session, "ana", "wrong-password", T0 + timedelta(minutes=minute * 3)).ok
    fifth = T0 + timedelta(minutes=12)
    locked = login(session, "ana", PASSWORD, fifth + timedelta(minutes=1))
    assert not locked.ok
    assert "Too many failed attempts" in locked.message
    assert "14 more minutes" in locked.message
    still_locked = login(session, "ana", PASSWORD, fifth + timedelta(minutes=14, seconds=59))
    assert not still_locked.ok and "locked" in still_locked.message
    assert login(session, "ana", PASSWORD, fifth + timedelta(minutes=15)).ok
    outcomes = session.exec(select(LoginAttempt.outcome).order_by(LoginAttempt.at)).all()
    assert outcomes == ["failed"] * 5 + ["locked", "locked", "succeeded"]


def test_failures_spread_over_more_than_15_minutes_do_not_lock(session):
    add(session, "ana")
    for minute in range(5):
        login(session, "ana", "wrong-password", T0 + timedelta(minutes=minute * 4))
    assert login(session, "ana", PASSWORD, T0 + timedelta(minutes=17)).ok


def test_a_success_resets_the_failure_count(session):
    add(session, "ana")
    for minute in range(4):
        login(session, "ana", "wrong-password", T0 + timedelta(minutes=minute))
    assert login(session, "ana", PASSWORD, T0 + timedelta(minutes=5)).ok
    login(session, "ana", "wrong-password", T0 + timedelta(minutes=6))
    assert login(session, "ana", PASSWORD, T0 + timedelta(minutes=7)).ok


def test_lockout_applies_to_unknown_usernames_too(session):
    for minute in range(5):
        login(session, "ghost", "wrong-password", T0 + timedelta(minutes=minute))
    assert "Too many failed attempts" in login(session, "ghost", "x" * 8,
                                               T0 + timedelta(minutes=6)).message


def test_a_deactivated_user_cannot_log_in_and_loses_their_session(session):
    add(session, "root", role=Role.ADMIN)
    add(session, "ana")
    admin = actor(session, "root")
    services.set_active(session=session, actor=admin, username="ana", active=False)
    result = login(session, "ana")
    assert not result.ok
    assert result.message == "This account is deactivated. Ask an administrator."
    assert actor(session, "ana") is None
    services.set_active(session=session, actor=admin, username="ana", active=True)
    assert login(session, "ana", at=T0 + timedelta(minutes=1)).ok


def test_admin_changes_roles_and_resets_passwords_with_an_audit_trail(session):
    add(session, "root", role=Role.ADMIN)
    add(session, "ana")
    admin = actor(session, "root")
    view = services.change_role(session=session, actor=admin, username="ana",
                                role=Role.SALES_HEAD)
    assert view.role == "sales_head"
    services.reset_password(session=session, actor=admin, username="ana",
                            new_password="a brand new one")
    assert not login(session, "ana").ok
    assert login(session, "ana", "a brand new one", T0 + timedelta(minutes=1)).ok
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == [
        "user.add", "user.add", "user.change_role", "user.reset_password"
    ]
    change = events[2]
    assert (change.actor, change.object_id) == ("root", "ana")
    assert change.before["role"] == "sales_rep" and change.after["role"] == "sales_head"


def test_list_users_in_role_order_never_exposes_hashes(session):
    add(session, "zed", role=Role.MARKETER)
    add(session, "root", role=Role.ADMIN)
    add(session, "ana", role=Role.SALES_REP)
    add(session, "erin", role=Role.EXEC)
    users = services.list_users(session=session, actor=actor(session, "root"))
    assert [u.username for u in users] == ["root", "erin", "ana", "zed"]
    assert not hasattr(users[0], "password_hash")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("username", {"username": "A B"}),
        ("email", {"email": "not-an-email"}),
        ("role", {"role": "wizard"}),
        ("password", {"password": "short"}),
        ("name", {"display_name": "  "}),
    ],
)
def test_bad_user_input_names_the_field_and_stores_nothing(session, field, kwargs):
    args = dict(username="newbie", display_name="New", email="n@example.com",
                role="marketer", password=PASSWORD) | kwargs
    with pytest.raises(InvalidInput) as error:
        services.add_user(session=session, actor=services.OPERATOR, **args)
    assert error.value.field == field
    assert session.exec(select(User)).all() == []


def test_usernames_are_unique(session):
    add(session, "ana")
    with pytest.raises(InvalidInput, match="already taken"):
        add(session, "ANA")


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(session):
    add(session, "root", role=Role.ADMIN)
    admin = actor(session, "root")
    with pytest.raises(InvalidInput, match="last active administrator"):
        services.change_role(session=session, actor=admin, username="root", role="exec")
    with pytest.raises(InvalidInput, match="last active administrator"):
        services.set_active(session=session, actor=admin, username="root", active=False)
    add(session, "second", role=Role.ADMIN)
    services.set_active(session=session, actor=admin, username="second", active=True)
    services.change_role(session=session, actor=admin, username="root", role="exec")


def test_unknown_user_is_not_found(session):
    add(session, "root", role=Role.ADMIN)
    with pytest.raises(NotFound):
        services.set_active(session=session, actor=actor(session, "root"), username="nope",
                            active=False)


ADMIN_CALLS = {
    "list_users": lambda s, a: services.list_users(session=s, actor=a),
    "add_user": lambda s, a: services.add_user(
        session=s, actor=a, username="evil", display_name="Evil", email="e@example.com",
        role="admin", password=PASSWORD),
    "change_role": lambda s, a: services.change_role(session=s, actor=a, username="root",
                                                     role="sales_rep"),
    "set_active": lambda s, a: services.set_active(session=s, actor=a, username="root",
                                                   active=False),
    "reset_password": lambda s, a: services.reset_password(session=s, actor=a, username="root",
                                                           new_password="taken-over!"),
}


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
@pytest.mark.parametrize("call", list(ADMIN_CALLS))
def test_only_an_admin_may_call_the_admin_services(session, role, call):
    add(session, "root", role=Role.ADMIN)
    add(session, "someone", role=role)
    before = session.exec(select(User.username, User.role, User.active, User.password_hash)).all()
    with pytest.raises(PermissionDenied):
        ADMIN_CALLS[call](session, actor(session, "someone"))
    after = session.exec(select(User.username, User.role, User.active, User.password_hash)).all()
    assert after == before


def test_workspace_overview_counts_what_is_stored(session):
    add(session, "ana")
    overview = services.workspace_overview(session=session, actor=actor(session, "ana"))
    assert (overview.leads, overview.mqls, overview.touches, overview.active_users) == (0, 0, 0, 1)
    assert overview.first_mql_at is None


def test_logging_out_revokes_re_login_cookies_issued_before(session):
    add(session, "ana")
    issued = T0
    assert services.resume_session(session=session, username="ana", issued_at=issued).username \
        == "ana"
    services.sign_out(session=session, username="ana", now=T0 + timedelta(hours=1))
    assert services.resume_session(session=session, username="ana", issued_at=issued) is None
    later = T0 + timedelta(hours=2)
    assert services.resume_session(session=session, username="ana", issued_at=later) is not None


def test_a_deactivated_user_cannot_resume_a_session(session):
    add(session, "root", role=Role.ADMIN)
    add(session, "ana")
    services.set_active(session=session, actor=actor(session, "root"), username="ana",
                        active=False)
    assert services.resume_session(session=session, username="ana", issued_at=T0) is None
    assert services.resume_session(session=session, username="nobody", issued_at=T0) is None


REVOKING_CHANGES = {
    "password reset": lambda s, admin: services.reset_password(
        session=s, actor=admin, username="ana", new_password="a brand new password"),
    "role change": lambda s, admin: services.change_role(session=s, actor=admin, username="ana",
                                                         role=Role.MARKETER),
    "deactivation and reactivation": lambda s, admin: [
        services.set_active(session=s, actor=admin, username="ana", active=active)
        for active in (False, True)],
    "reactivation": lambda s, admin: services.set_active(session=s, actor=admin,
                                                         username="ana", active=True),
}


@pytest.mark.parametrize("change", REVOKING_CHANGES.values(), ids=REVOKING_CHANGES.keys())
def test_a_reset_role_change_or_reactivation_revokes_every_earlier_session(session, change):
    add(session, "root", role=Role.ADMIN)
    add(session, "ana")
    before = clock.now() - timedelta(seconds=1)  # a cookie issued before the change
    assert services.resume_session(session=session, username="ana", issued_at=before)
    change(session, actor(session, "root"))
    assert services.resume_session(session=session, username="ana", issued_at=before) is None
    after = clock.now() + timedelta(seconds=1)  # a login after the change works again
    assert services.resume_session(session=session, username="ana", issued_at=after)


@pytest.mark.parametrize("username", sorted(RESERVED_USERNAMES))
def test_reserved_usernames_are_refused(session, username):
    with pytest.raises(InvalidInput, match="reserved"):
        add(session, username)
    assert session.exec(select(User)).all() == []


@pytest.mark.parametrize(("field", "kwargs"), [
    ("name", {"display_name": "x" * 121}),
    ("email", {"email": "a" * 250 + "@example.com"}),
    ("team", {"team": "t" * 65}),
])
def test_over_long_user_fields_are_refused_before_the_database(session, field, kwargs):
    arguments = {"session": session, "actor": services.OPERATOR, "username": "ana",
                 "display_name": "Ana", "email": "ana@example.com", "role": Role.SALES_REP,
                 "password": PASSWORD, **kwargs}
    with pytest.raises(InvalidInput, match=f"{field}: .*at most"):
        services.add_user(**arguments)
    assert session.exec(select(User)).all() == []


def test_every_audit_event_records_its_channel(session):
    add(session, "ana")
    with acting_through("cli"):
        add(session, "ben")
    session.flush()
    channels = {event.object_id: event.channel for event in session.exec(
        select(AuditEvent).where(AuditEvent.action == "user.add")).all()}
    assert channels == {"ana": "app", "ben": "cli"}
