"""Two replicas of the app over one PostgreSQL, in real browsers: what one person does on
replica A is what another sees on replica B at their next rerun (the measured-period caches
follow the database's change sequence, not their own process), and an agreement edit saved on A
makes a stale save on B fail. Then a replica is killed under a logged-in browser: the proxy
moves the person to the other replica, still logged in, and nothing committed is lost."""

import json
import re
import subprocess
import sys
from datetime import timedelta

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from core import dashboard, services
from core.demo import DEMO_PASSWORD
from core.permissions import Role
from db.engine import session_scope
from db.models import Lead, Touch, utcnow
from deploy.team import ROOT, STICKY_COOKIE
from tests.browser.serving import open_page, settle

REP = "tara"  # a rep of a team of her own: the escalation ladder has nobody to hand her leads to
REP_TEAM = "Replica Test"


def add_rep(engine) -> None:
    with session_scope(engine) as session:
        if services.get_actor(session=session, username=REP) is None:
            services.add_user(session=session, actor=services.OPERATOR, username=REP,
                              display_name="Tara Quinn", email="tara@example.com",
                              role=Role.SALES_REP, password=DEMO_PASSWORD, team=REP_TEAM)


def add_lead(engine, external_id: str, waited: timedelta) -> int:
    """An open lead of the rep's that became an MQL `waited` ago."""
    add_rep(engine)
    with session_scope(engine) as session:
        mql = utcnow() - waited
        lead = Lead(source="replicas", external_id=external_id, created_at=mql, mql_at=mql,
                    owner=REP, name=f"Lead {external_id}", company="Two Replicas Ltd",
                    score=80)
        session.add(lead)
        session.flush()
        return lead.id


def touches(engine, lead_id: int) -> list[Touch]:
    with session_scope(engine) as session:
        return list(session.exec(select(Touch).where(Touch.lead_id == lead_id)
                                 .order_by(Touch.id)).all())


OPEN_TRIES = 4  # a click that lands while a rerun redraws the page can be lost


def log_touch(page, card, note: str) -> None:
    """Log a call from a card's (or the lead page's) touch form, with a note. The popover is
    opened again when it did not open: the condition waited on is its note field, not a time."""
    popover = page.locator("[data-testid='stPopoverBody']").last
    for attempt in range(OPEN_TRIES):
        settle(page)
        card.get_by_role("button", name="Log a touch").click()
        try:
            popover.locator("textarea").wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            if attempt == OPEN_TRIES - 1:
                raise
    popover.locator("textarea").fill(note)
    popover.get_by_role("button", name="Log it").click()
    page.get_by_text("Logged a call.").wait_for()
    settle(page)


def rerun(page, link: str) -> None:
    """The person's next rerun of the page they are on: they click its link in the sidebar
    (the same session, its caches warm; not a reload)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link).click()
    settle(page)


def first_touch_headline(page) -> str:
    """The scorecard's line under the first-touch commitment, as the dashboard shows it."""
    metric = page.locator('[data-testid="stMetric"]', has_text="First touch")
    caption = metric.locator("xpath=following::*[@data-testid='stCaptionContainer'][1]")
    return caption.inner_text().strip()


def report_now(team, period: str) -> dict:
    """The period's report now, recounted by the command line on the team's database."""
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "report", "--period", period, "--format", "json"],
        cwd=ROOT, env=team.members["app1"].env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def expected_headline(report: dict) -> str:
    card = dashboard.scorecard(report, None, "USD")
    return card.set_index("id").loc["first-touch", "headline"]


def test_a_touch_on_replica_a_is_on_replica_bs_next_rerun_of_worklist_and_dashboard(
        team, team_engine, person):
    overdue = add_lead(team_engine, "R-OVERDUE", timedelta(days=10))
    pending = add_lead(team_engine, "R-PENDING", timedelta(minutes=1))
    a, b = team.app_url(1), team.app_url(2)

    rep_on_b = person(b, REP)
    open_page(rep_on_b, f"{b}/leads", "My worklist")
    card_on_b = rep_on_b.locator(f".st-key-work_row_{overdue}")
    assert "0 of 3 attempts" in card_on_b.inner_text()
    head_on_b = person(b, "sofia")
    open_page(head_on_b, f"{b}/dashboard", "Compliance")
    period = head_on_b.get_by_role("textbox", name="Period").input_value()
    before = first_touch_headline(head_on_b)
    assert before == expected_headline(report_now(team, period))

    rep_on_a = person(a, REP)
    open_page(rep_on_a, f"{a}/leads", "My worklist")
    log_touch(rep_on_a, rep_on_a.locator(f".st-key-work_row_{overdue}"), "Called from A")
    rep_on_a.goto(f"{a}/lead?lead={pending}")
    rep_on_a.get_by_text("Two Replicas Ltd").first.wait_for()
    settle(rep_on_a)
    log_touch(rep_on_a, rep_on_a, "Called from A in time")
    assert [t.note for t in touches(team_engine, overdue)] == ["Called from A"]
    assert [t.note for t in touches(team_engine, pending)] == ["Called from A in time"]

    rerun(rep_on_b, "My worklist")
    assert "1 of 3 attempts" in rep_on_b.locator(f".st-key-work_row_{overdue}").inner_text()
    rerun(head_on_b, "Compliance")
    after = first_touch_headline(head_on_b)
    assert after == expected_headline(report_now(team, period)) != before


def edit_title(page, url: str, title: str) -> None:
    """Open the amendment under negotiation in the editor and apply a new title (not saved)."""
    open_page(page, f"{url}/agreements", "Agreements")
    page.locator(".st-key-sla_version_1").click()
    page.get_by_role("option", name="v2 — draft (latest)").click()
    settle(page)
    page.get_by_role("tab", name="Edit", exact=True).click()
    settle(page)
    page.get_by_text("General", exact=True).first.click()
    settle(page)
    page.get_by_role("textbox", name="Title", exact=True).fill(title)
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("You have unsaved changes.").wait_for()
    settle(page)


def test_an_edit_saved_on_replica_a_refuses_a_stale_save_on_replica_b(team, person):
    a, b = team.app_url(1), team.app_url(2)
    marco, sofia = person(a, "marco"), person(b, "sofia")
    edit_title(marco, a, "Marketing's title, saved on A")
    edit_title(sofia, b, "Sales' title, saved on B too late")
    marco.get_by_role("button", name="Save draft").click()
    marco.get_by_text(re.compile(r"Saved version \d")).wait_for()
    sofia.get_by_role("button", name="Save draft").click()
    refusal = sofia.get_by_text(re.compile("Marco Tester saved it|saved it"))
    refusal.first.wait_for()
    assert "Marketing's title, saved on A" in sofia.locator(
        '[data-testid="stAlertContentError"]').inner_text()


def replica_of(page) -> int:
    """The replica the proxy's sticky cookie holds this browser to (1, 2, ...)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == STICKY_COOKIE)
    return int(cookie["value"].removeprefix("app"))


def test_a_killed_replicas_people_go_on_on_the_other_logged_in_and_lose_nothing(
        team, team_engine, person):
    lead = add_lead(team_engine, "R-FAILOVER", timedelta(days=10))
    page = person(team.url, REP)
    open_page(page, f"{team.url}/leads", "My worklist")
    log_touch(page, page.locator(f".st-key-work_row_{lead}"), "Before the replica died")
    dead = replica_of(page)
    team.kill_replica(dead)
    try:
        # No reload: Streamlit's page reconnects by itself, through the proxy, to the live
        # replica, which logs the new session in from the same cookie.
        card = page.locator(f".st-key-work_row_{lead}")
        card.get_by_text("1 of 3 attempts").wait_for(timeout=90_000)
        settle(page)
        assert page.get_by_role("button", name="Log out").is_visible()
        log_touch(page, card, "After, on the other replica")
        assert replica_of(page) != dead
        assert [t.note for t in touches(team_engine, lead)] == [
            "Before the replica died", "After, on the other replica"]
    finally:
        team.restart_replica(dead)
