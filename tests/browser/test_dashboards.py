"""In a real browser: a rep works the worklist, and the head of sales sees every chart drawn.

The module serves the app over its own seeded SQLite database, so a test can plant the leads it
needs: the demo has an at-risk lead only at some times of the day and week.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

from core import clock, dashboard
from core.agreement import business_calendar
from core.calendar import NS_PER_SECOND, BusinessCalendar
from core.demo import DEMO_PASSWORD
from core.periods import parse_period
from core.services import agreements, get_actor, measurement
from db.engine import session_scope
from db.models import Lead
from tests.browser.conftest import DEMO_LEADS, log_in
from tests.browser.serving import open_page, served_demo, settle
from ui.worklist import percent

REP = "ana"
HEAD = "sofia"
DEMO_ZONE = "America/New_York"  # the demo agreement's calendar
FIRST_TOUCH = "first-touch"
FIRST_TOUCH_LABEL = "My first touch this month"
# The first-touch budget is 4 business hours; a clock is at risk with under 1 hour left.
AT_RISK_ELAPSED = timedelta(hours=3, minutes=30)  # 30 business minutes left either way
OVERDUE_ELAPSED = timedelta(hours=5, minutes=30)
SHOWN_PER_STATE = 10  # ui.worklist.render_urgent lists 10 at-risk, then 10 overdue leads
CHART_COUNT = 8
# Data marks (not axes, grid or legends) of a vega-embed SVG that draw something.
DRAWN_MARKS = """chart => [...chart.querySelectorAll('svg g.role-mark > *')].filter(mark =>
    ['rect', 'line', 'circle'].includes(mark.tagName)
    || (mark.tagName === 'path' && (mark.getAttribute('d') || '') !== '')).length"""


@dataclass(frozen=True)
class Served:
    """The app's address and the database it serves."""

    url: str
    engine: Engine


@dataclass(frozen=True)
class Planted:
    """The leads a test planted for the rep: one at risk, one overdue (first touch)."""

    at_risk: Lead
    overdue: Lead
    in_this_month: bool


@pytest.fixture(scope="module")
def served(chromium, tmp_path_factory) -> Iterator[Served]:
    """The app on a free port over this module's own migrated and seeded SQLite database."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('dashboards') / 'handoff.db'}"
    with served_demo(database_url, DEMO_LEADS) as url:
        engine = create_engine(database_url, connect_args={"timeout": 30})
        try:
            yield Served(url, engine)
        finally:
            engine.dispose()


def business_instant_before(calendar: BusinessCalendar, end: datetime,
                            business: timedelta) -> datetime:
    """The instant from which `business` time of the calendar has elapsed by `end`."""
    segments = calendar.segments(end - timedelta(days=60), end)
    left = int(business.total_seconds()) * NS_PER_SECOND
    for start_ns, end_ns in zip(segments.starts[::-1], segments.ends[::-1], strict=True):
        if end_ns - start_ns >= left:
            return datetime.fromtimestamp((int(end_ns) - left) / NS_PER_SECOND, UTC)
        left -= int(end_ns - start_ns)
    raise AssertionError(f"the calendar has less than {business} of working time in 60 days")


def minute_end(instant: datetime) -> str:
    """The as_of the app measures at (ui.data.as_of): the end of the instant's minute."""
    return (instant.replace(second=0, microsecond=0) + timedelta(minutes=1)).isoformat()


def plant_leads(engine: Engine) -> Planted:
    """Two fresh leads of the rep, never touched: the first-touch clock of one has 30 business
    minutes left (at risk), the other's ran out two hours ago (overdue, so a breach)."""
    now = clock.now()
    stamp = now.strftime("%H%M%S%f")
    with session_scope(engine) as session:
        document = agreements.signed_document(session)
        calendar = business_calendar(document)
        planted = []
        for label, elapsed in (("RISK", AT_RISK_ELAPSED), ("LATE", OVERDUE_ELAPSED)):
            mql = business_instant_before(calendar, now, elapsed)
            lead = Lead(source="browser-test", external_id=f"T-{label}-{stamp}", created_at=mql,
                        mql_at=mql, owner=REP, name=f"Test {label.title()}",
                        company=f"{label.title()} Testing Co", channel="referral",
                        segment="SMB", region="North America", country="United States",
                        email=f"{label.lower()}-{stamp}@example.com", score=80.0)
            session.add(lead)
            planted.append(lead)
        session.flush()
        rep = get_actor(session=session, username=REP)
        month_text = measurement.current_month(session=session, actor=rep, as_of=minute_end(now))
    month = parse_period(month_text, document.calendar.timezone)
    in_this_month = all(month.start <= lead.mql_at for lead in planted)
    return Planted(*planted, in_this_month=in_this_month)


def first_touch_figure(engine: Engine, as_of: str) -> str:
    """The rep's "My first touch this month" figure as the services measure it at as_of."""
    with session_scope(engine) as session:
        rep = get_actor(session=session, username=REP)
        scope = measurement.scope(
            session=session, actor=rep, as_of=as_of,
            period=measurement.current_month(session=session, actor=rep, as_of=as_of))
        evaluation = measurement.measure(session=session, actor=rep, scope=scope)
    versus = dashboard.rep_versus_team(evaluation, REP).set_index("commitment")
    return percent(versus.loc[FIRST_TOUCH, "mine_pct"])


def urgent_states(engine: Engine, as_of: str) -> dict[int, str]:
    """Lead id → state of the rows the rep's "Breaching next" list shows at as_of."""
    with session_scope(engine) as session:
        rep = get_actor(session=session, username=REP)
        rows = measurement.worklist(session=session, actor=rep, as_of=as_of)
    urgent = pd.concat([rows[rows["state"] == state].head(SHOWN_PER_STATE)
                        for state in ("at_risk", "overdue")])
    return dict(zip(urgent["id"], urgent["state"], strict=True))


def shown_first_touch(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=FIRST_TOUCH_LABEL)
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def read_first_touch(page, engine: Engine) -> tuple[str, set[str]]:
    """The figure shown, and what the services say around the moment it was read (the app
    measures at the end of the current minute, which may tick over while reading)."""
    before = clock.now()
    shown = shown_first_touch(page)
    after = clock.now()
    return shown, {first_touch_figure(engine, minute_end(at)) for at in (before, after)}


def work_row(page, lead: Lead):
    return page.locator(f".st-key-work_row_{lead.id}")


def test_a_rep_lands_on_the_worklist(page, served):
    log_in(page, served.url, REP, DEMO_PASSWORD)
    # The rep's landing page opens right after the login's rerun: wait for it, not just any page.
    page.get_by_role("heading", name="Breaching next", exact=True).wait_for()
    page.locator('[data-testid="stMetric"]').filter(has_text=FIRST_TOUCH_LABEL).wait_for()
    settle(page)
    assert page.get_by_role("heading", name="My worklist", exact=True).is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_call_from_the_worklist_stops_its_clock_and_counts(page, served):
    planted = plant_leads(served.engine)
    listed = urgent_states(served.engine, minute_end(clock.now()))
    assert listed.get(planted.at_risk.id) == "at_risk", listed
    assert listed.get(planted.overdue.id) == "overdue", listed
    log_in(page, served.url, REP, DEMO_PASSWORD)
    page.get_by_role("heading", name="My worklist", exact=True).wait_for()
    at_risk, overdue = work_row(page, planted.at_risk), work_row(page, planted.overdue)
    at_risk.wait_for()  # the at-risk lead is in the Breaching next list
    settle(page)

    assert at_risk.locator("strong", has_text=planted.at_risk.external_id).count() == 1
    assert at_risk.get_by_text("At risk", exact=True).is_visible()
    assert overdue.get_by_text("Overdue", exact=True).is_visible()
    shown_before, expected_before = read_first_touch(page, served.engine)
    assert shown_before in expected_before

    at_risk.get_by_role("button", name="Log a touch").click()
    page.locator("[data-testid='stPopoverBody']").last.get_by_role("button", name="Log it").click()
    page.get_by_text("Logged a call.", exact=True).wait_for()
    settle(page)

    # The lead stays on top, under "Just worked", with its clock now: first touch met.
    # (its accept-or-reject and attempts clocks still run)
    worked = work_row(page, planted.at_risk)
    assert page.locator("h5").first.inner_text() == "Just worked"
    assert "First touch" not in worked.inner_text()
    assert "1 of 3 attempts" in worked.inner_text()
    assert worked.get_by_text("At risk", exact=True).count() == 0
    assert work_row(page, planted.overdue).count() == 1  # the list itself is still there
    shown_after, expected_after = read_first_touch(page, served.engine)
    assert shown_after in expected_after
    if planted.in_this_month:
        # Met clocks went up by one next to at least one breach: the share must move.
        assert shown_after != shown_before, (shown_before, shown_after)
    assert page.locator('[data-testid="stException"]').count() == 0


def late_last_month() -> str:
    """An instant late in the demo's last whole month, as a URL's as_of: the current month
    may be a day old and have nothing to chart yet."""
    first_of_month = clock.today(DEMO_ZONE).replace(day=1)
    evening = datetime.combine(first_of_month, time(0), ZoneInfo(DEMO_ZONE)) - timedelta(hours=6)
    return quote(evening.astimezone(UTC).isoformat())


def test_every_dashboard_chart_draws_its_marks(page, served):
    log_in(page, served.url, HEAD, DEMO_PASSWORD)
    open_page(page, f"{served.url}/dashboard?as_of={late_last_month()}", "Compliance")
    charts = page.locator(".vega-embed")
    page.locator(".vega-embed svg").nth(CHART_COUNT - 1).wait_for()
    # Vega draws asynchronously: wait until every chart has drawn its marks (or time out).
    page.wait_for_function(f"""() => [...document.querySelectorAll('.vega-embed')]
        .filter(chart => ({DRAWN_MARKS})(chart) > 0).length === {CHART_COUNT}""")

    assert charts.count() == CHART_COUNT
    for index in range(CHART_COUNT):
        chart = charts.nth(index)
        svg = chart.locator("svg").first
        box = svg.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"chart {index} has no size"
        assert chart.evaluate(DRAWN_MARKS) > 0, f"chart {index} draws no mark"
    assert page.locator('[data-testid="stException"]').count() == 0


def test_clicking_a_bar_lists_the_leads_behind_it(page, served):
    log_in(page, served.url, HEAD, DEMO_PASSWORD)
    open_page(page, f"{served.url}/dashboard?as_of={late_last_month()}", "Compliance")
    page.locator(".vega-embed svg").nth(CHART_COUNT - 1).wait_for()
    settle(page)
    funnel = page.locator(".st-key-dash_chart_funnel .vega-embed")
    funnel.locator("svg g.role-mark path").first.click()  # the MQL bar
    heading = page.get_by_role("heading", name="Leads behind the selection", exact=False)
    heading.wait_for()
    settle(page)
    assert "Funnel of the period" in heading.inner_text()
    listed = page.get_by_text(re.compile(r"^[\d,]+ leads?(;|$)")).first.inner_text()
    assert int(listed.split()[0].replace(",", "")) > 0  # the period's MQLs
    assert page.locator('[data-testid="stException"]').count() == 0
