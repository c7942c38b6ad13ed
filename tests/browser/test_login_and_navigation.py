"""In a real browser: each demo role sees exactly its pages, and strangers see only the login."""

import pytest

from core.demo import DEMO_PASSWORD, DEMO_USERS
from tests.browser.conftest import log_in
from tests.browser.serving import settle
from ui.navigation import PAGES, pages_for, title_for

ONE_USER_PER_ROLE = {user.role: user for user in reversed(DEMO_USERS)}


def sidebar_pages(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    # A link's text is its material icon's name (one word), then its title.
    return [text.split(maxsplit=1)[-1].strip() for text in links.all_inner_texts()]


@pytest.mark.parametrize("role", sorted(ONE_USER_PER_ROLE))
def test_each_demo_role_sees_exactly_its_pages(page, app_url, role):
    user = ONE_USER_PER_ROLE[role]
    log_in(page, app_url, user.username, DEMO_PASSWORD)
    expected = [title_for(spec, role) for spec in pages_for(role)
                if not spec.hidden]  # a lead's page opens from a link, not the sidebar
    if len(expected) > 1:
        assert sidebar_pages(page) == expected
    else:  # Streamlit hides the navigation menu when there is a single page
        assert sidebar_pages(page) in ([], expected)
    landing = "My worklist" if role == "sales_rep" else \
        f"Welcome, {user.display_name.split()[0]}"  # a rep lands on the worklist
    page.get_by_role("heading", name=landing, exact=True).wait_for()
    for spec in PAGES:
        if spec not in pages_for(role):
            page.goto(f"{app_url}/{spec.url_path}")
            page.get_by_role("button", name="Log out").wait_for()  # back in, from the cookie
            settle(page)
            assert page.get_by_role("heading", name=spec.title, exact=True).count() == 0


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_a_deep_link_shows_a_stranger_only_the_login_form(page, app_url, spec):
    page.goto(f"{app_url}/{spec.url_path}")
    page.get_by_role("textbox", name="Username").wait_for()
    settle(page)
    assert page.get_by_role("textbox", name="Password").is_visible()
    assert page.get_by_role("heading", name=spec.title, exact=True).count() == 0
    assert page.get_by_role("heading", name="Welcome", exact=False).count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stMetric"], [data-testid="stDataFrame"]').count() == 0


def test_a_deep_link_survives_the_login(page, app_url):
    admin = ONE_USER_PER_ROLE["admin"]
    page.goto(f"{app_url}/users")
    page.get_by_role("textbox", name="Username").wait_for()
    page.get_by_role("textbox", name="Username").fill(admin.username)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Users", exact=True).wait_for()
    assert page.url.endswith("/users")


@pytest.mark.parametrize("role", ["sales_rep", "sales_head"])
def test_a_reload_after_login_keeps_the_user_logged_in(page, app_url, role):
    """The re-login cookie is written even when the login lands on another page (a rep's
    worklist), so a reload or a new tab does not ask for the password again."""
    user = ONE_USER_PER_ROLE[role]
    log_in(page, app_url, user.username, DEMO_PASSWORD)
    page.reload()
    page.get_by_role("button", name="Log out").wait_for()
    settle(page)
    assert page.get_by_role("textbox", name="Password").count() == 0


def test_logout_returns_to_the_login_form_and_forgets_the_session(page, app_url):
    rep = ONE_USER_PER_ROLE["sales_rep"]
    log_in(page, app_url, rep.username, DEMO_PASSWORD)
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("textbox", name="Password").wait_for()
    page.goto(app_url)
    page.get_by_role("textbox", name="Password").wait_for()
    settle(page)
    assert page.get_by_role("button", name="Log out").count() == 0


def test_a_wrong_password_is_refused(page, app_url):
    page.goto(app_url)
    page.get_by_role("textbox", name="Username").fill(ONE_USER_PER_ROLE["exec"].username)
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Username or password is incorrect.").wait_for()
    assert page.get_by_role("button", name="Log out").count() == 0


def test_a_page_the_role_may_not_open_says_so_instead_of_silently_landing(page, app_url):
    rep = ONE_USER_PER_ROLE["sales_rep"]
    log_in(page, app_url, rep.username, DEMO_PASSWORD)
    page.goto(f"{app_url}/users")
    page.get_by_role("button", name="Log out").wait_for()  # back in, from the cookie
    page.get_by_text("A sales rep cannot open Users: this is My worklist instead.").wait_for()
    assert page.get_by_role("heading", name="My worklist", exact=True).is_visible()
    assert page.get_by_role("heading", name="Users", exact=True).count() == 0
