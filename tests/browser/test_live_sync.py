"""Live data in a real browser: a rep's at-risk lead, synced from HubSpot (the local fake
server), leaves her worklist by itself once her call arrives through the next sync. The page
follows the data (every HANDOFF_LIVE_SECONDS): nobody reloads it."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import create_engine, select

from core import secret_box
from core.services import OPERATOR
from core.services.sync import configure_connector, run_sync
from db.engine import session_scope
from db.models import Lead
from tests.browser.conftest import log_in
from tests.browser.serving import served
from tests.fakes.hubspot import FakeHubSpot
from tests.service.conftest import add_people
from tests.sla_helpers import activate, around_the_clock

ANA = "101"  # her HubSpot owner id: Ana@Example.com, her email in any case


@pytest.fixture
def workspace(chromium, tmp_path, monkeypatch):
    """A served workspace with one user per role and an always-open SLA (first touch within
    4 hours), whose pages check the data every 2 seconds."""
    key = secret_box.new_key()
    monkeypatch.setenv("HANDOFF_SECRET_KEY", key)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    with served(url, env={"HANDOFF_LIVE_SECONDS": "2", "HANDOFF_SECRET_KEY": key}) as app_url:
        engine = create_engine(url, connect_args={"timeout": 30})
        with session_scope(engine) as session:
            activate(session, add_people(session), around_the_clock())
        yield app_url, lambda: session_scope(engine)
        engine.dispose()


def test_an_at_risk_lead_leaves_the_worklist_when_its_call_arrives_through_a_sync(
        workspace, page, httpserver):
    app_url, sessions = workspace
    fake = FakeHubSpot(httpserver, contacts=1, engagements=0)
    fake.objects["contacts"].clear()
    now = datetime.now(UTC)
    contact = fake.add_contact(owner=ANA, mql_at=now - timedelta(hours=3, minutes=30))
    with sessions() as session:
        configure_connector(session=session, actor=OPERATOR, name="hubspot",
                            settings=fake.settings(), credentials=fake.private_app_credentials())
    assert run_sync("hubspot", sessions=sessions).inserted == 1
    with sessions() as session:
        lead = session.exec(select(Lead).where(Lead.external_id == contact)).one()
    assert lead.owner == "ana"

    log_in(page, app_url, "ana", "long enough password")
    card = page.locator(f".st-key-work_row_{lead.id}")
    card.wait_for()
    assert "At risk" in page.locator(".stMainBlockContainer").inner_text()

    fake.add_call(contact, at=now - timedelta(minutes=5), owner=ANA)
    assert run_sync("hubspot", sessions=sessions).inserted == 1
    card.wait_for(state="detached", timeout=90_000)  # the page reran by itself
    page.get_by_text("Nothing is at risk or overdue.").wait_for()
