"""The bell in a real browser, on the demo: it shows a rep's unread count, a click lists her
notices with a link to the lead, and opening the notice (its lead's page) clears it from the
count."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, create_engine, delete, func, select

from core.demo import DEMO_PASSWORD
from db.engine import session_scope
from db.models import Lead, Notification, utcnow
from tests.browser.conftest import log_in
from tests.browser.serving import settle

# The bell's button (Streamlit keeps a hidden copy of it beside it, to measure its label)
BELL = '.st-key-bell [data-testid="stPopoverButton"] >> visible=true'
TITLE = "breached first touch"
SHOTS = Path("/tmp/shots")


@pytest.fixture
def notices(served_app):
    """Three unread notices for ana (the newest about one of her leads, linking to it); the
    lead. They are removed afterwards: the served demo is shared by the session's tests."""
    engine = create_engine(served_app.database_url, connect_args={"timeout": 30})
    now = utcnow()
    with session_scope(engine) as session:
        lead = session.exec(select(Lead).where(Lead.owner == "ana").order_by(Lead.id)).first()
        unread = session.exec(select(func.count()).select_from(Notification).where(
            Notification.username == "ana", col(Notification.read_at).is_(None))).one()
        rows = [
            Notification(username="ana", kind="digest", title="Your morning list",
                         cause="digest morning", created_at=now - timedelta(minutes=30)),
            Notification(username="ana", kind="at_risk",
                         title=f"{lead.external_id} is about to breach first touch",
                         cause="escalation warn-owner", created_at=now - timedelta(minutes=20)),
            Notification(username="ana", kind="breached", title=f"{lead.external_id} {TITLE}",
                         body="Nobody touched it in time.", link=f"/lead?lead={lead.id}",
                         lead_id=lead.id, cause="escalation warn-owner",
                         created_at=now - timedelta(minutes=5)),
        ]
        session.add_all(rows)
        session.flush()
        made = [row.id for row in rows]
        found = (lead.id, lead.external_id, unread, made[-1])
    yield found
    with session_scope(engine) as session:
        session.execute(delete(Notification).where(col(Notification.id).in_(made)))
    engine.dispose()


def bell_reads(page, count: int) -> None:
    """Wait until the bell's label (its icon's name, then the count) is this unread count."""
    page.locator(BELL, has_text=re.compile(rf"notifications\s*{count}(?!\d)")).wait_for()


def test_the_bell_counts_lists_and_opening_a_notice_reads_it(page, app_url, notices):
    lead_id, external_id, unread_before, linked = notices
    log_in(page, app_url, "ana", DEMO_PASSWORD)
    bell_reads(page, unread_before + 3)

    page.locator(BELL).click()
    listed = page.locator('[data-testid="stPopoverBody"]')
    listed.get_by_text(f"{external_id} {TITLE}").wait_for()
    settle(page)
    page.screenshot(path=shot("bell_open.png"))
    listed.locator(f".st-key-bell_row_{linked}").get_by_role("button", name="Open").click()

    page.wait_for_url(re.compile(rf"/lead\?lead={lead_id}$"))
    page.get_by_role("heading", name=re.compile(rf"^{re.escape(external_id)} · ")).wait_for()
    bell_reads(page, unread_before + 2)
    settle(page)
    page.locator(BELL).click()
    listed.get_by_text(f"{external_id} {TITLE}").wait_for()
    assert listed.locator("strong", has_text=TITLE).count() == 0  # read: no longer bold


def shot(name: str) -> str:
    """Where a screenshot of this test goes (to look at; never committed)."""
    SHOTS.mkdir(exist_ok=True)
    return str(SHOTS / name)
