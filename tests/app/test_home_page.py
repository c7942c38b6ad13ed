"""Home page: greets the user and lists what their role can do."""

import pytest

from core.permissions import WHAT_YOU_CAN_DO, Role, allowed_actions
from tests.app.conftest import logged_in


@pytest.mark.parametrize("role", list(Role))
def test_home_greets_and_lists_exactly_the_roles_actions(app_db, role):
    at = logged_in(app_db("kim", role)).run()
    assert not at.exception
    assert at.title[0].value == "Welcome, Kim"
    listed = [m.value.removeprefix("- ") for m in at.markdown if m.value.startswith("- ")]
    assert listed == [WHAT_YOU_CAN_DO[a] for a in allowed_actions(role)]
    assert [m.label for m in at.metric] == ["Leads", "MQLs", "Sales touches", "Active users"]
    assert at.metric[3].value == "1"


def test_sidebar_names_the_user_and_role(app_db):
    at = logged_in(app_db("kim", Role.MARKETER)).run()
    assert "Kim Tester" in at.sidebar.caption[0].value
    assert "marketer" in at.sidebar.caption[0].value
