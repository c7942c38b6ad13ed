"""The goal planner page: the plan for the next quarter, its assumptions, and the proposal."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from core import agreement as sla
from core.permissions import Role
from core.services import OPERATOR, agreements, get_actor, planning
from db.engine import get_engine
from db.models import Lead
from tests.app.conftest import opened
from tests.sla_helpers import activate

USERS = {"ana": Role.SALES_REP, "sofia": Role.SALES_HEAD, "marco": Role.MARKETING_HEAD,
         "erin": Role.EXEC, "mia": Role.MARKETER}
AS_OF = "2026-04-20T12:00:00+00:00"  # in 2026-Q2: the page plans 2026-Q3 by default
# The four quarters before 2026-Q2, which is still running and so left out of the history.
HISTORY = [(2025, 4), (2025, 7), (2025, 10), (2026, 1)]
SCRIPT = "app_pages/planner.py"


@pytest.fixture
def world(app_db):
    """A signed UTC SLA with a 300,000-a-quarter revenue goal, and per past quarter 10 MQLs,
    5 accepted, 2 SQLs and 1 deal of 3,000 won 20 days after its MQL."""
    people = {name: app_db(name, role) for name, role in USERS.items()}
    data = sla.to_dict(sla.template(title="Planner SLA", start=date(2025, 1, 1),
                                    end=date(2099, 1, 1), timezone="UTC"))
    data["shared_goals"] = [{"id": "won-revenue", "metric": "won_amount", "target": 300000,
                             "per": "quarter"}]
    with Session(get_engine()) as session:
        activate(session, people, sla.from_dict(data))
        leads = []
        for quarter, (year, month) in enumerate(HISTORY):
            for index in range(10):
                mql = datetime(year, month, 2, 10, tzinfo=UTC) + timedelta(days=index)
                leads.append(Lead(
                    source="crm", external_id=f"Q{quarter}-{index}", created_at=mql, mql_at=mql,
                    owner="ana" if index % 2 else "sofia",
                    accepted_at=mql + timedelta(hours=1) if index < 5 else None,
                    sql_at=mql + timedelta(days=3) if index < 2 else None,
                    won_at=mql + timedelta(days=20) if index == 0 else None,
                    amount=3000 if index == 0 else None))
        session.add_all(leads)
        session.commit()
    return people


def opened_planner(actor):
    return opened(actor, SCRIPT, AS_OF)


def figures(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_a_head_sees_the_plan_and_its_sample(world):
    at = opened_planner(world["marco"])
    assert at.title[0].value == "Goal planner"
    assert at.text_input(key="plan_quarter").value == "2026-Q3"
    assert at.number_input(key="plan_revenue").value == 300000
    assert "Shared goal Won revenue: \\$300,000 per quarter." in [c.value for c in at.caption]
    # 300,000 / 3,000 = 100 won; rates 0.5 (SQL→won), 0.4 (SAL→SQL), 0.5 (MQL→SAL).
    assert figures(at) == {"Won deals": "100", "SQLs": "200", "SALs": "500", "MQLs": "1,000"}
    assert any("Sample: 40 MQLs and 4 won deals over 4 quarters" in caption.value
               for caption in at.caption)
    assert any("History: the MQLs of 2025-Q2 to 2026-Q1 (4 quarters) and the deals won in them; "
               "2026-Q2 is still running, so its MQLs are left out." in caption.value
               for caption in at.caption)
    assumptions = next(frame.value for frame in at.dataframe
                       if "Assumption" in frame.value.columns).set_index("Assumption")
    assert assumptions.loc["MQL → SAL", "Sample"] == "20 of 40 MQLs"
    assert assumptions.loc["SQL → won", "Sample"] == "4 of 8 SQLs"
    by_month = next(frame.value for frame in at.dataframe if "Month" in frame.value.columns)
    assert by_month["Month"].tolist() == ["2026-06", "2026-07", "2026-08"]  # a 1-month lag
    assert by_month["MQLs"].tolist() == [334, 333, 333]
    assert len(at.get("vega_lite_chart")) == 1
    assert at.button(key="plan_propose").label == "Propose as a draft volume target"


def test_editing_an_assumption_replans(world):
    at = opened_planner(world["sofia"])
    at.number_input(key="plan_sql_won").set_value(0.25).run()
    assert not at.exception, at.exception
    assert figures(at)["SQLs"] == "400"
    at.number_input(key="plan_revenue").set_value(600000).run()
    assert figures(at)["Won deals"] == "200"


@pytest.mark.parametrize("name", ["ana", "erin", "mia"])
def test_only_heads_get_the_proposal_button(world, name):
    at = opened_planner(world[name])
    assert figures(at)["MQLs"] == "1,000"
    assert "plan_propose" not in [button.key for button in at.button]


def test_proposing_creates_a_draft_and_names_it(world):
    at = opened_planner(world["sofia"])
    at.button(key="plan_propose").click().run()
    assert not at.exception, at.exception
    assert "Created draft version 2" in at.success[0].value
    assert "334 per month" in at.success[0].value
    with Session(get_engine()) as session:
        draft = agreements.get_version(session=session, actor=OPERATOR, agreement_id=1)
    assert (draft.number, draft.state) == (2, "draft")
    assert draft.document.commitment("mql-volume").target == 334


def test_a_quarter_without_history_asks_for_the_assumptions(world):
    at = opened_planner(world["marco"])
    at.text_input(key="plan_quarter").set_value("2020-Q1").run()
    assert not at.exception, at.exception
    assert "history cannot supply" in at.warning[0].value
    assert not at.metric


def test_a_malformed_quarter_is_refused(world):
    at = opened_planner(world["marco"])
    at.text_input(key="plan_quarter").set_value("next quarter").run()
    assert not at.exception, at.exception
    assert "quarter" in at.error[0].value


def test_on_the_demo_data_the_plan_is_plausible_and_states_its_sample(small_demo):
    small_demo(date(2026, 11, 22))
    as_of = "2026-11-22T12:00:00+00:00"
    with Session(get_engine()) as session:
        sofia = get_actor(session=session, username="sofia")
        plan = planning.plan(session=session, actor=sofia, quarter="2027-Q1", as_of=as_of)
    at = opened(sofia, SCRIPT, as_of)
    assert at.text_input(key="plan_quarter").value == "2027-Q1"
    shown = {metric.label: int(metric.value.replace(",", "")) for metric in at.metric}
    assert shown == {"Won deals": plan["required"]["won"], "SQLs": plan["required"]["sql"],
                     "SALs": plan["required"]["sal"], "MQLs": plan["required"]["mql"]}
    # Plausible: every stage needs more leads than the next, at the history's own rates.
    assert 0 < shown["Won deals"] < shown["SQLs"] < shown["SALs"] < shown["MQLs"]
    history_mqls = plan["sample"]["mql"]
    # The history is the four quarters before 2026-Q4, which is running: its MQLs are left out.
    assert plan["history_quarters"] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert 0 < history_mqls < 3000
    assert any(f"Sample: {history_mqls:,} MQLs and {plan['sample']['won']:,} won deals"
               in caption.value for caption in at.caption)
