"""Users page: admin-only user management."""

import pytest
from sqlmodel import Session, select

from core.permissions import Role
from core.services import OPERATOR, currency
from db.engine import get_engine
from db.models import User
from tests.app.conftest import logged_in

PAGE = "app_pages/users.py"


def open_users(at):
    return at.switch_page(PAGE).run()


def stored(username: str) -> User | None:
    with Session(get_engine()) as session:
        return session.exec(select(User).where(User.username == username)).first()


def test_admin_sees_every_user(app_db):
    app_db("ana", Role.SALES_REP)
    at = open_users(logged_in(app_db("root", Role.ADMIN)).run())
    assert not at.exception
    assert at.title[0].value == "Users"
    assert sorted(at.dataframe[0].value["Username"]) == ["ana", "root"]
    assert "password_hash" not in at.dataframe[0].value.columns


def test_admin_adds_a_user(app_db):
    at = open_users(logged_in(app_db("root", Role.ADMIN)).run())
    at.text_input(key="users_add_username").input("mia")
    at.text_input(key="users_add_name").input("Mia Chen")
    at.text_input(key="users_add_email").input("mia@example.com")
    at.selectbox(key="users_add_role").select("marketer")
    at.text_input(key="users_add_password").input("a good password")
    at.button[0].click().run()
    assert not at.exception
    assert at.success[0].value == "Added mia."
    assert "mia" in list(at.dataframe[0].value["Username"])
    assert stored("mia").role == "marketer"


def test_a_bad_new_user_shows_the_field_and_stores_nothing(app_db):
    at = open_users(logged_in(app_db("root", Role.ADMIN)).run())
    at.text_input(key="users_add_username").input("mia")
    at.text_input(key="users_add_name").input("Mia Chen")
    at.text_input(key="users_add_email").input("not-an-email")
    at.text_input(key="users_add_password").input("a good password")
    at.button[0].click().run()
    assert at.error[0].value.startswith("email:")
    assert stored("mia") is None


def test_admin_changes_role_deactivates_and_resets_password(app_db):
    app_db("ana", Role.SALES_REP)
    at = open_users(logged_in(app_db("root", Role.ADMIN)).run())
    at.selectbox(key="users_edit_username").select("ana").run()
    at.selectbox(key="users_role_value").select("sales_head")
    at.button(key="FormSubmitter:users_role-Change role").click().run()
    assert stored("ana").role == "sales_head"
    at.button(key="users_toggle_active").click().run()
    assert stored("ana").active is False
    old_hash = stored("ana").password_hash
    at.text_input(key="users_new_password").input("another password")
    at.button(key="FormSubmitter:users_password-Reset password").click().run()
    assert not at.exception
    assert stored("ana").password_hash != old_hash


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_other_roles_are_stopped_by_the_page_itself(app_db, role):
    app_db("ana", Role.SALES_REP)
    at = logged_in(app_db("kim", role), script=PAGE).run()
    assert not at.exception
    assert "cannot open Users" in at.error[0].value
    assert not at.dataframe
    assert not at.text_input


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_other_roles_have_no_users_page_in_navigation(app_db, role):
    at = logged_in(app_db("kim", role)).run()
    with pytest.raises(ValueError, match="Known pages") as refused:
        open_users(at)
    known_pages = str(refused.value).split("Known pages:")[1]
    assert "home.py" in known_pages
    assert "users.py" not in known_pages


def test_the_admin_chooses_the_currency_and_amounts_show_in_it(app_db):
    at = open_users(logged_in(app_db("root", Role.ADMIN)).run())
    picker = at.selectbox(key="users_currency")
    assert picker.value == "USD" and "EUR (€1,234)" in picker.options
    picker.set_value("EUR")
    at.button(key="FormSubmitter:users_workspace-Save settings").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Amounts now show in EUR."
    with Session(get_engine()) as session:
        assert currency(session=session, actor=OPERATOR) == "EUR"
