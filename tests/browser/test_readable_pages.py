"""In a real browser, every page as every demo role reads as people write: names, not usernames;
reasons as words, not codes; no "None", no raw JSON, no "+00:00" where a local time belongs.

The text checked is what the page shows in its main area (tables drawn on a canvas aside)."""

import re
from datetime import date

import pytest

from core import agreement as sla
from core.demo import DEMO_PASSWORD, DEMO_USERS
from tests.browser.conftest import log_in
from tests.browser.serving import settle
from tests.browser.test_safe_rendering import MAIN_TEXT
from ui.navigation import pages_for

ONE_USER_PER_ROLE = {user.role: user for user in reversed(DEMO_USERS)}
USERNAMES = sorted(user.username for user in DEMO_USERS)
# The demo agreement's rejection reasons that are codes (a one-word reason reads the same)
REASON_CODES = [reason for reason in sla.template(title="x", start=date(2026, 1, 1),
                                                  end=date(2027, 1, 1)).rejection_reasons
                if "_" in reason]
# Where a username is the thing shown: the admin's user list names each account
USERNAMES_SHOWN_ON = {"users"}
# Tabs that hold more prose than the first one
TABS = {"agreements": ["Comments"], "review": []}


def problems(text: str, url_path: str) -> list[str]:
    """What a person would not expect to read on the page."""
    found = []
    if url_path not in USERNAMES_SHOWN_ON:
        found += [f"username {name!r}" for name in USERNAMES
                  if re.search(rf"(?<![\w@.-]){re.escape(name)}(?![\w@-])", text)]
    found += [f"reason code {code!r}" for code in REASON_CODES if code in text]
    found += ["None" for _ in re.finditer(r"\bNone\b", text)][:1]
    found += ["raw JSON" for _ in re.finditer(r"\{['\"]\w+['\"]\s*:", text)][:1]
    found += ["+00:00" for _ in re.finditer(r"\+00:00", text)][:1]
    return found


@pytest.mark.parametrize("role", sorted(ONE_USER_PER_ROLE))
def test_every_page_reads_as_people_write(page, app_url, role):
    user = ONE_USER_PER_ROLE[role]
    log_in(page, app_url, user.username, DEMO_PASSWORD)
    found = {}
    for spec in pages_for(role):
        page.goto(f"{app_url}/{spec.url_path}")
        page.get_by_role("button", name="Log out").wait_for()
        settle(page)
        texts = [page.evaluate(MAIN_TEXT)]
        for tab in TABS.get(spec.url_path, []):
            page.get_by_role("tab", name=tab, exact=True).click()
            settle(page)
            texts.append(page.evaluate(MAIN_TEXT))
        assert "Traceback" not in texts[0], f"{spec.url_path}: {texts[0][:2000]}"
        if wrong := problems("\n".join(texts), spec.url_path):
            found[spec.url_path] = wrong
    assert not found, f"{role} ({user.username}) reads: {found}"


def test_the_checker_finds_what_it_looks_for():
    assert problems("Owner: ana · due 2026-03-02T09:00:00+00:00 · rejected as not_a_fit · None",
                    "leads") == ["username 'ana'", "reason code 'not_a_fit'", "None", "+00:00"]
    assert problems('{"industry": "saas"}', "home") == ["raw JSON"]
    assert problems("Owner: Ana Souza · ana@handoff.example · Not a fit", "leads") == []
    assert problems("ana (Sales rep)", "users") == []
