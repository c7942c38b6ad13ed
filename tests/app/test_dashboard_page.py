"""Home scorecard, the compliance dashboard and the rep's worklist, against the report.

The agreement's calendar is open around the clock in UTC, so business time is real time and
leads can be placed relative to now for the worklist.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core import agreement as sla
from core import clock, dashboard
from core.permissions import Role
from core.services import OPERATOR, agreements, get_actor, measurement
from db.engine import get_engine
from db.models import Lead, Touch
from tests.app.conftest import logged_in, opened
from tests.sla_helpers import activate, around_the_clock
from ui.text import words

USERS = {"ana": Role.SALES_REP, "ben": Role.SALES_REP, "sofia": Role.SALES_HEAD,
         "marco": Role.MARKETING_HEAD, "erin": Role.EXEC, "mia": Role.MARKETER}
AS_OF = "2026-03-20T12:00:00+00:00"
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(app_db):
    """Users, the always-on SLA, March leads for the dashboard and fresh leads for ana's list."""
    people = {name: app_db(name, role) for name, role in USERS.items()}
    now = clock.now()
    with Session(get_engine()) as session:
        activate(session, people, around_the_clock())
        march = [
            Lead(source="crm", external_id=f"M{index}", created_at=MARCH, owner=owner,
                 mql_at=MARCH + timedelta(hours=index), channel=channel, score=score)
            for index, (owner, channel, score) in enumerate([
                ("ana", "social", 80), ("ana", "paid_search", 40), ("ben", "social", 70),
                ("ben", "paid_search", 90)])
        ]
        fresh = [
            Lead(source="crm", external_id="due-soon", created_at=now, owner="ana",
                 mql_at=now - timedelta(hours=3, minutes=30), name="Dana Soon"),
            Lead(source="crm", external_id="late", created_at=now, owner="ana",
                 mql_at=now - timedelta(hours=6), name="Lee Late"),
            Lead(source="crm", external_id="fresh", created_at=now, owner="ana",
                 mql_at=now - timedelta(minutes=30), name="Fay Fresh"),
            Lead(source="crm", external_id="bens", created_at=now, owner="ben",
                 mql_at=now - timedelta(hours=3, minutes=30)),
        ]
        session.add_all(march + fresh)
        session.flush()
        session.add_all([Touch(lead_id=march[0].id, at=MARCH + timedelta(hours=1),
                               kind="call", rep="ana"),
                         Touch(lead_id=march[2].id, at=MARCH + timedelta(hours=9),
                               kind="call", rep="ben")])
        session.commit()
    return people


def the_report(**filters) -> dict:
    with Session(get_engine()) as session:
        scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                     as_of=AS_OF)
        if not filters:
            return measurement.report(session=session, actor=OPERATOR, scope=scope)
        return measurement.measure(session=session, actor=OPERATOR, scope=scope,
                                   filters=measurement.Filters.of(**filters)).report()


def opened_page(actor, page: str, as_of: str | None = AS_OF):
    return opened(actor, f"app_pages/{page}.py", as_of)


def shown_figures(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def expected_figures(report: dict) -> dict[str, str]:
    """Each card's big number: the figure its status is judged by (the pace while a count's
    period runs)."""
    shown = {}
    for item in report["commitments"] + report["shared_goals"]:
        value, basis = dashboard.judged_value(item)
        shown[words(item["id"])] = "–" if value is None else \
            f"{value:.1f}%{' of pace' if basis == 'pace' else ''}"
    return shown


def test_the_home_scorecard_shows_the_report_figures(world):
    at = opened_page(world["marco"], "home")
    report = the_report()
    assert shown_figures(at) == expected_figures(report)
    assert dashboard.reading(report) in [m.value.strip("*") for m in at.markdown]
    first_touch = next(c for c in report["commitments"] if c["id"] == "first-touch")
    assert first_touch["met"] == 1 and first_touch["breached"] == 3  # M0 met; M2 late; M1, M3


def test_in_a_running_period_each_count_leads_with_its_pace_and_its_status_agrees(world):
    at = opened_page(world["marco"], "home")
    report = the_report()
    volume = next(c for c in report["commitments"] if c["id"] == "mql-volume")
    pace = volume["actual"] / volume["expected_to_date"] * 100
    card = next(m for m in at.metric if m.label == "MQL volume")
    assert card.value == f"{pace:.1f}% of pace"
    assert volume["attainment_pct"] < pace  # the partial total is the smaller, lesser figure
    assert f"{volume['actual']:,} of {volume['target']:,} MQLs so far" in "\n".join(
        c.value for c in at.caption)
    status = "On track" if pace >= 100 else "At risk"
    assert dashboard.STATUS_WORDS[volume["status"]] == status
    # Like with like: this month's pace against February's final attainment (nothing in
    # February: 0%), not this month's partial total.
    assert card.delta == f"{pace - 0.0:+.1f} pts vs 2026-02"


def test_early_in_a_period_home_also_shows_how_the_last_one_ended(world):
    early = opened_page(world["marco"], "home", as_of="2026-04-02T12:00:00+00:00")  # day 2
    assert "The last complete period: 2026-03" in [h.value for h in early.subheader]
    march = [m for m in early.metric if m.label == "MQL volume"]
    assert len(march) == 2 and march[1].value.endswith("%") and "pace" not in march[1].value
    later = opened_page(world["marco"], "home", as_of="2026-04-06T12:00:00+00:00")  # day 6
    assert not [h for h in later.subheader if h.value.startswith("The last complete period")]


def test_the_dashboard_draws_every_chart_and_matches_a_filtered_report(world):
    at = opened_page(world["sofia"], "dashboard")
    assert len(at.get("vega_lite_chart")) == 8
    assert shown_figures(at) == expected_figures(the_report())
    at.selectbox(key="dash_channel").set_value("social").run()
    assert not at.exception, at.exception
    social = the_report(channel="social")
    assert shown_figures(at) == expected_figures(social)
    by_channel = measurement.report  # the CLI's --by channel row holds the same commitment figures
    with Session(get_engine()) as session:
        scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                     as_of=AS_OF)
        rows = by_channel(session=session, actor=OPERATOR, scope=scope, by="channel")
    social_row = next(row for row in rows["breakdown"] if row["channel"] == "social")
    assert social_row["commitments"] == social["commitments"]


def test_a_rep_lands_on_the_worklist_most_urgent_first(world):
    at = logged_in(world["ana"]).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "My worklist"
    urgent = _cards(at)
    # due-soon: 30 min left (at risk, listed first: it can still be saved); late: 6 h on a 4 h
    # first-touch budget (overdue); fresh has 3.5 h left and is not urgent; ben's is not ana's.
    assert urgent[:2] == ["due-soon", "late"]
    badges = [m.value for m in at.markdown if "-badge[" in m.value]  # how AppTest sees st.badge
    assert [badge.split("[")[1].split("]")[0] for badge in badges[:2]] == ["At risk", "Overdue"]
    assert not any("fresh" in text or "bens" in text for text in urgent)


def test_logging_a_touch_moves_the_lead_to_just_worked_with_its_clock_now(world):
    at = opened_page(world["ana"], "leads", as_of=None)
    before = at.metric[0].value
    with Session(get_engine()) as session:
        lead_id = session.exec(select(Lead.id).where(Lead.external_id == "due-soon")).one()
    at.button(key=f"FormSubmitter:work_touch_{lead_id}-Log it").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Logged a call."
    headings = [m.value for m in at.markdown if m.value.startswith("#####")]
    assert headings[0] == "##### Just worked"
    assert _cards(at)[0] == "due-soon"  # first, under Just worked: its first touch is met
    assert not any("At risk" in heading for heading in headings)  # it was the one at risk
    assert at.metric[0].value != before  # ana's first-touch figure now counts the met clock


def _cards(at) -> list[str]:
    """The lead ids of the worklist's cards, top to bottom."""
    return [m.value.split("**[")[1].split("]")[0] for m in at.markdown
            if m.value.startswith("**[") and "](lead?lead=" in m.value]


def test_the_what_if_panel_measures_last_period_under_a_draft(world):
    data = sla.to_dict(around_the_clock())
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = "30m"
    with Session(get_engine()) as session:
        agreements.new_version(session=session, actor=world["marco"], agreement_id=1,
                               document=sla.from_dict(data))
        session.commit()
    at = opened_page(world["sofia"], "dashboard", "2026-04-15T12:00:00+00:00")  # last: 2026-03
    compared = next(frame.value for frame in at.dataframe
                    if "what_if" in frame.value.columns).set_index("commitment")
    # M0 was touched after 1 hour: met within 4 h, breached within 30 minutes.
    assert compared.loc["first-touch", "actual_pct"] == 25.0
    assert compared.loc["first-touch", "what_if_pct"] == 0.0
    assert compared.loc["first-touch", "difference_pts"] == -25.0


def test_on_the_demo_data_the_dashboard_shows_the_report_figures(small_demo):
    small_demo(date(2026, 3, 20))
    with Session(get_engine()) as session:
        sofia = get_actor(session=session, username="sofia")
    as_of = "2026-03-20T16:00:00+00:00"
    at = opened_page(sofia, "dashboard", as_of=as_of)
    with Session(get_engine()) as session:
        scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                     as_of=as_of)
        report = measurement.report(session=session, actor=OPERATOR, scope=scope)
    assert report["funnel"]["mql"] > 100  # the demo's March is well populated
    assert shown_figures(at) == expected_figures(report)
    assert len(at.get("vega_lite_chart")) == 8


def test_the_head_of_sales_sees_whose_urgent_lead_it_is(world):
    at = opened_page(world["sofia"], "leads", as_of=None)
    assert at.title[0].value == "Leads"
    owners = [c.value for c in at.caption if c.value.startswith("Owner: ")]
    # due-soon, late (ana); bens (ben): by name
    assert set(owners) == {"Owner: Ana Tester", "Owner: Ben Tester"}
