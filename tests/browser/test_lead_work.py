"""Leads at a team's scale, in a real browser on the demo: the head of sales finds a lead by
company, opens its page, reads its timeline and reassigns it; a rep logs a call with an outcome
and a note and sees its attempts move; a dispute goes to its end and both sides read the note.

The tables are drawn on a canvas: their visible cells are read from the grid's accessible
table, and a row is chosen by clicking its row marker."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import create_engine, select

from core.demo import DEMO_PASSWORD
from core.services import get_actor, leads
from db.engine import session_scope
from db.models import Lead, LeadOwnerChange, Touch, utcnow
from tests.browser.conftest import log_in
from tests.browser.serving import settle

HEADER_PX, ROW_PX = 35, 35  # Streamlit's data grid: header and row heights


@pytest.fixture
def database(served_app):
    engine = create_engine(served_app.database_url, connect_args={"timeout": 30})
    yield engine
    engine.dispose()


def open_leads(page, app_url: str, username: str) -> None:
    log_in(page, app_url, username, DEMO_PASSWORD)
    page.goto(f"{app_url}/leads")
    page.get_by_role("button", name="Log out").wait_for()
    settle(page)


def search(page, text: str) -> None:
    box = page.locator(".st-key-find_text input")
    box.fill(text)
    box.press("Enter")
    settle(page)


def found_cells(page) -> str:
    """The visible text of the Find a lead table ("" when it says no lead matches)."""
    table = page.locator(".st-key-find_table")
    if not table.count():
        return ""
    return " ".join(table.locator('table[role="grid"] td').all_inner_texts())


def choose_row(page, row: int) -> None:
    """Tick the row marker of the table's row (0 = first)."""
    canvas = page.locator(".st-key-find_table canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2)
    settle(page)


OPEN_TRIES = 5  # a click that lands while a busy machine still redraws the page can be lost
OPEN_WAIT_MS = 12_000


def choose(page, key: str, option, typed: str = "") -> None:
    """Pick an option of the Streamlit selectbox with this key (typing `typed` first narrows a
    long list, whose options are drawn only as they scroll into view). The list is opened again
    when it did not open: the condition waited on is the option, not a time."""
    box = page.locator(f".st-key-{key} input")
    wanted = page.get_by_role("option", name=option).first
    for attempt in range(OPEN_TRIES):
        settle(page)
        box.click()
        if typed:
            box.fill(typed)
        try:
            wanted.wait_for(timeout=OPEN_WAIT_MS)
            break
        except PlaywrightTimeout:
            if attempt == OPEN_TRIES - 1:
                raise
            page.keyboard.press("Escape")
    wanted.click()
    settle(page)


def test_a_head_finds_a_lead_by_company_opens_it_and_reassigns_it(page, browser, app_url,
                                                                  database):
    with session_scope(database) as session:
        ana = get_actor(session=session, username="ana")
        lead = Lead(source="demo", external_id="B-REASSIGN", created_at=utcnow(),
                    mql_at=utcnow() - timedelta(hours=2), owner="ana", name="Rita Lopez",
                    company="Quillfeather Optics", email="rita@quillfeather.example")
        session.add(lead)
        session.flush()
        leads.log_touch(session=session, actor=ana, lead_id=lead.id, kind="call",
                        outcome="voicemail", note="Left a message about pricing")
        lead_id = lead.id

    open_leads(page, app_url, "sofia")
    search(page, "quillfeather")
    assert "B-REASSIGN" in found_cells(page) and "Ana Souza" in found_cells(page)
    choose_row(page, 0)
    page.get_by_role("link", name="Open B-REASSIGN").click()
    page.get_by_role("heading", name=re.compile("B-REASSIGN")).wait_for()
    settle(page)
    assert f"lead={lead_id}" in page.url
    page.locator(".st-key-lead_timeline").scroll_into_view_if_needed()
    page.locator(".st-key-lead_timeline table[role='grid'] td").first.wait_for(state="attached")
    timeline = " ".join(page.locator(".st-key-lead_timeline table[role='grid'] td")
                        .all_inner_texts())
    assert "Call: voicemail" in timeline and "Left a message about pricing" in timeline

    page.get_by_text("Reassign or correct this lead").click()
    choose(page, "lead_reassign_to", "Ben Carter (Inbound East)")
    page.locator(".st-key-lead_reassign_reason input").fill("Ana is on leave this week")
    page.get_by_role("button", name="Reassign").click()
    page.get_by_text("Reassigned 1 lead to Ben Carter (Inbound East).").wait_for()
    with session_scope(database) as session:
        assert session.get(Lead, lead_id).owner == "ben"
        change = session.exec(select(LeadOwnerChange).where(
            LeadOwnerChange.lead_id == lead_id)).one()
        assert (change.from_owner, change.to_owner, change.reason) == (
            "ana", "ben", "Ana is on leave this week")

    for rep, shows in (("ben", True), ("ana", False)):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        other = context.new_page()
        other.set_default_timeout(60_000)
        open_leads(other, app_url, rep)
        search(other, "B-REASSIGN")
        assert ("B-REASSIGN" in found_cells(other)) is shows, rep
        if not shows:
            assert other.get_by_text("No lead matches.").is_visible()
        context.close()


def test_a_rep_logs_a_call_with_an_outcome_and_a_note_and_sees_the_attempts(page, app_url,
                                                                           database):
    with session_scope(database) as session:  # waiting three days: first touch overdue
        waited = utcnow() - timedelta(days=3)
        lead = Lead(source="demo", external_id="B-ATTEMPTS", created_at=waited, mql_at=waited,
                    owner="eli", name="Omar Haddad", company="Saltmarsh Analytics")
        session.add(lead)
        session.flush()
        lead_id = lead.id

    open_leads(page, app_url, "eli")
    card = page.locator(f".st-key-work_row_{lead_id}")
    card.wait_for()
    assert "0 of 3 attempts" in card.inner_text()
    assert "First touch" in card.inner_text()
    card.get_by_role("button", name="Log a touch").click()
    popover = page.locator("[data-testid='stPopoverBody']").last  # a call is the default
    choose(page, f"work_outcome_{lead_id}", "Connected")
    popover.locator("textarea").fill("Interested; send the case study")
    popover.get_by_role("button", name="Log it").click()
    page.get_by_text("Logged a call (connected).").wait_for()
    settle(page)

    card = page.locator(f".st-key-work_row_{lead_id}")
    text = card.inner_text()
    assert "1 of 3 attempts" in text
    assert re.search(r"\d[^\n]* left for the next attempt", text), text
    assert "First touch" not in text  # the call stopped that clock: the card shows what is next
    headings = page.locator("h5").all_inner_texts()
    assert headings[0] == "Just worked"
    with session_scope(database) as session:
        touch = session.exec(select(Touch).where(Touch.lead_id == lead_id)).one()
        assert (touch.kind, touch.rep, touch.outcome, touch.note) == (
            "call", "eli", "connected", "Interested; send the case study")


def test_a_dispute_goes_to_its_end_and_both_sides_read_the_note(page, browser, app_url,
                                                                database):
    with session_scope(database) as session:
        chloe = get_actor(session=session, username="chloe")
        yesterday = utcnow() - timedelta(days=1)
        lead = Lead(source="demo", external_id="B-DISPUTE", created_at=yesterday,
                    mql_at=yesterday, owner="chloe", name="June Park", company="Tidewell Labs")
        session.add(lead)
        session.flush()
        leads.reject_lead(session=session, actor=chloe, lead_id=lead.id, reason="not_a_fit",
                          note="Looks like a student project")

    def as_user(username: str, path: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        other = context.new_page()
        other.set_default_timeout(60_000)
        log_in(other, app_url, username, DEMO_PASSWORD)
        other.goto(f"{app_url}/{path}")
        other.get_by_role("button", name="Log out").wait_for()
        settle(other)
        return context, other

    context, mia = as_user("mia", "disputes")
    choose(mia, "disputes_lead", re.compile("^B-DISPUTE"), typed="B-DISPUTE")
    mia.locator(".st-key-disputes_comment textarea").fill("They booked a demo for 40 seats")
    mia.get_by_role("button", name="Dispute").click()
    mia.get_by_text("Dispute opened.").wait_for()
    context.close()

    context, sofia = as_user("sofia", "disputes")
    dispute = sofia.locator("[class*='st-key-disputes_open_']", has_text="B-DISPUTE")
    dispute.locator("input").fill("40 seats is ours: call them today")
    dispute.locator("input").press("Enter")
    settle(sofia)
    dispute.get_by_role("button", name="Overturn: back to sales").click()
    sofia.get_by_text("Rejection overturned.").wait_for()
    context.close()

    context, mia = as_user("mia", "disputes")
    resolved = mia.locator("[class*='st-key-disputes_resolved_']", has_text="B-DISPUTE")
    assert "40 seats is ours: call them today" in resolved.inner_text()
    assert "Sofia Ramos" in resolved.inner_text()
    context.close()

    open_leads(page, app_url, "chloe")
    notice = page.locator("[data-testid='stAlert']", has_text="Rejection overturned").filter(
        has_text="B-DISPUTE")
    notice.wait_for()
    assert "40 seats is ours: call them today" in notice.inner_text()
    assert "Sofia Ramos" in notice.inner_text()
