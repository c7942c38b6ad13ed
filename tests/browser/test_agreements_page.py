"""In a real browser, the Agreements page keeps its place: the tab someone acted in stays open
through the rerun their action makes, and what they wrote shows at once."""

from core.demo import DEMO_PASSWORD
from tests.browser.conftest import log_in
from tests.browser.serving import open_page, settle


def selected_tab(page) -> str:
    return page.locator('[role="tab"][aria-selected="true"]').inner_text().strip()


def test_a_comment_shows_at_once_and_its_tab_stays_open(page, app_url):
    log_in(page, app_url, "sofia", DEMO_PASSWORD)
    open_page(page, f"{app_url}/agreements", "Agreements")
    page.get_by_role("tab", name="Comments", exact=True).click()
    settle(page)
    body = "Inbound West can commit to 3 business hours from January."
    page.get_by_role("textbox", name="Comment", exact=True).fill(body)
    page.get_by_role("button", name="Add comment").click()
    page.get_by_text(body, exact=True).wait_for()
    settle(page)
    assert selected_tab(page) == "Comments"
    assert page.get_by_text("Comment added.").is_visible()
    assert page.get_by_role("textbox", name="Comment", exact=True).input_value() == ""  # cleared
