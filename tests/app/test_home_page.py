"""Home page: greets the user, shows the scorecard (see test_dashboard_page) or says why there
is none yet, and lists what their role can do."""

import pytest

from core.permissions import WHAT_YOU_CAN_DO, Role, allowed_actions
from tests.app.conftest import logged_in


@pytest.mark.parametrize("role", list(Role))
def test_home_greets_and_lists_exactly_the_roles_actions(app_db, role):
    at = logged_in(app_db("kim", role)).run()
    assert not at.exception
    if role == Role.SALES_REP:  # a rep lands on the worklist; home is one click away
        at.switch_page("app_pages/home.py").run()
    assert at.title[0].value == "Welcome, Kim"
    assert at.info[0].value.startswith("Nothing to measure yet: no agreement has a signed")
    listed = [m.value.removeprefix("- ") for m in at.markdown if m.value.startswith("- ")]
    assert listed == [WHAT_YOU_CAN_DO[a] for a in allowed_actions(role)]
    workspace = next(c.value for c in at.main.caption if c.value.startswith("In this workspace"))
    assert "0 leads" in workspace and "1 active users" in workspace


def test_sidebar_names_the_user_and_role(app_db):
    at = logged_in(app_db("kim", Role.MARKETER)).run()
    assert "Kim Tester" in at.sidebar.caption[0].value
    assert at.sidebar.caption[0].value == "Signed in as **Kim Tester** · Marketer"
