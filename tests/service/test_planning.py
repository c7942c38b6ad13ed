"""The goal planner's service: history from the database, overrides, the shared goal, and the
draft volume target it proposes."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from core import agreement as sla
from core.errors import InvalidInput, NotFound
from core.permissions import PermissionDenied
from core.services import agreements, planning
from db.models import Lead
from tests.sla_helpers import activate

# The template's calendar is New York: quarters start at local midnight (04:00 or 05:00 UTC).
HISTORY = [(2025, 7), (2025, 10), (2026, 1), (2026, 4)]  # the quarters before 2026-Q3
AMOUNTS = [4000, 6000, 5000, 5000]


def document(goal: dict | None = None, volume_per: str = "month") -> sla.Document:
    # Open-ended: the version is active whatever day the suite runs.
    data = sla.to_dict(sla.template(title="Planning SLA", start=date(2025, 1, 1),
                                    end=date(2099, 1, 1)))
    data["shared_goals"] = [goal] if goal else []
    data["commitments"][0]["per"] = volume_per
    return sla.from_dict(data)


REVENUE_GOAL = {"id": "won-revenue", "metric": "won_amount", "target": 500000, "per": "quarter"}


def plant_history(session) -> None:
    """Per past quarter: 10 MQLs, 8 accepted, 4 SQLs, 1 won 45 days after its MQL (ana wins
    three quarters, ben one); plus leads just outside the window that must not count."""
    leads = []
    for quarter, (year, month) in enumerate(HISTORY):
        start = datetime(year, month, 3, 15, tzinfo=UTC)
        for index in range(10):
            mql = start + timedelta(days=index)
            owner = "ana" if index % 2 == 0 else "ben"
            lead = Lead(source="crm", external_id=f"H{quarter}-{index}", created_at=mql,
                        mql_at=mql, owner=owner)
            if index < 8:
                lead.accepted_at = mql + timedelta(hours=2)
            if index < 4:
                lead.sql_at = mql + timedelta(days=7)
            if index == 0:
                lead.won_at = mql + timedelta(days=45)
                lead.amount = AMOUNTS[quarter]
                lead.owner = "ben" if quarter == 3 else "ana"
            leads.append(lead)
    # 2025-07-01 02:00 UTC is still 30 June in New York: a 2025-Q2 MQL, outside the history.
    edge = datetime(2025, 7, 1, 2, tzinfo=UTC)
    leads.append(Lead(source="crm", external_id="before", created_at=edge, mql_at=edge,
                      accepted_at=edge, owner="cleo"))
    later = datetime(2026, 7, 2, 15, tzinfo=UTC)
    leads.append(Lead(source="crm", external_id="after", created_at=later, mql_at=later,
                      accepted_at=later, sql_at=later, won_at=later, amount=99999, owner="cleo"))
    session.add_all(leads)
    session.flush()


@pytest.fixture
def world(session, people):
    version = activate(session, people, document(REVENUE_GOAL))
    plant_history(session)
    return version.agreement_id


def test_the_plan_states_the_planted_history(session, people, world):
    result = planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3")
    assert result["sample"] == {"quarters": 4, "mql": 40, "won": 4}
    assert result["rates"] == {"mql_sal": 0.8, "sal_sql": 0.5, "sql_won": 0.25}
    assert result["avg_won"] == 5000
    assert result["revenue"] == 500000  # the shared goal, per quarter
    assert result["required"] == {"won": 100, "sql": 400, "sal": 800, "mql": 1000}
    assert result["lag_months"] == 1  # 45 days
    assert result["by_month"] == [{"month": "2026-06", "mql": 334},
                                  {"month": "2026-07", "mql": 333},
                                  {"month": "2026-08", "mql": 333}]
    assert result["by_rep"] == [{"rep": "ana", "share": 0.75, "mql": 750, "won": 75},
                                {"rep": "ben", "share": 0.25, "mql": 250, "won": 25}]
    assert result["monthly_volume_target"] == 334
    low, high = result["ranges"]["mql_sal"]
    assert low < 0.8 < high
    assert json.loads(json.dumps(result)) == result  # plain JSON values, ready for the CLI


def test_the_quarter_still_running_is_left_out_of_the_history(session, people, world):
    # Planning 2026-Q3 from inside 2026-Q2: 2026-Q2's MQLs are too young to have converted.
    result = planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3",
                           as_of="2026-05-15T12:00:00Z")
    assert result["history_quarters"] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert result["sample"] == {"quarters": 4, "mql": 31, "won": 3}  # 3 planted + "before"
    assert planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3")[
        "history_quarters"] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]


def test_every_role_may_plan(session, people, world):
    for name in people:
        result = planning.plan(session=session, actor=people[name], quarter="2026-q3")
        assert result["quarter"] == "2026-Q3"


def test_overrides_win_over_history(session, people, world):
    result = planning.plan(session=session, actor=people["marco"], quarter="2026-Q3",
                           revenue=1_000_000, avg_won=10000, rates={"sql_won": 0.5},
                           lag_months=0)
    assert result["rates"] == {"mql_sal": 0.8, "sal_sql": 0.5, "sql_won": 0.5}
    assert result["required"] == {"won": 100, "sql": 200, "sal": 400, "mql": 500}
    assert result["by_month"][0]["month"] == "2026-07"
    assert result["sample"] == {"quarters": 4, "mql": 40, "won": 4}


def test_a_shorter_history(session, people, world):
    result = planning.plan(session=session, actor=people["marco"], quarter="2026-Q3",
                           history=1)
    assert result["sample"] == {"quarters": 1, "mql": 10, "won": 1}
    assert result["avg_won"] == 5000 and result["by_rep"][0]["rep"] == "ben"


@pytest.mark.parametrize(("goal", "revenue"), [
    ({**REVENUE_GOAL, "target": 100000, "per": "month"}, 300000),
    ({**REVENUE_GOAL, "target": 10000, "per": "week"}, 130000),
])
def test_the_revenue_comes_from_the_shared_goal_per_quarter(session, people, goal, revenue):
    activate(session, people, document(goal))
    plant_history(session)
    result = planning.plan(session=session, actor=people["erin"], quarter="2026-Q3")
    assert result["revenue"] == revenue
    assert result["required"]["won"] == revenue // 5000


def test_a_named_goal_must_be_a_revenue_goal(session, people, world):
    with pytest.raises(InvalidInput) as raised:
        planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3",
                      goal_id="no-such-goal")
    assert raised.value.field == "goal"
    assert planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3",
                         goal_id="won-revenue")["revenue"] == 500000


def test_without_a_goal_the_revenue_must_be_given(session, people):
    activate(session, people, document(goal=None))
    plant_history(session)
    with pytest.raises(InvalidInput) as raised:
        planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3")
    assert raised.value.field == "revenue"
    result = planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3",
                           revenue=50000)
    assert result["required"]["won"] == 10


@pytest.mark.parametrize(("arguments", "field"), [
    ({"revenue": 0}, "revenue"),
    ({"revenue": -100}, "revenue"),
    ({"quarter": "2026-07"}, "quarter"),
    ({"quarter": "Q3 2026"}, "quarter"),
    ({"history": 0}, "history"),
    ({"avg_won": 0}, "avg_won"),
    ({"rates": {"sql_won": 2}}, "rates"),
    ({"rates": {"mql_won": 0.5}}, "rates"),
    ({"quarter": "2020-Q1"}, "rates"),  # no history at all
])
def test_bad_input_names_its_field(session, people, world, arguments, field):
    with pytest.raises(InvalidInput) as raised:
        planning.plan(session=session, actor=people["sofia"],
                      **{"quarter": "2026-Q3", **arguments})
    assert raised.value.field == field


def test_no_history_plans_with_given_assumptions(session, people, world):
    result = planning.plan(session=session, actor=people["sofia"], quarter="2020-Q1",
                           revenue=2_400_000, avg_won=8000,
                           rates={"mql_sal": 0.6, "sal_sql": 0.5, "sql_won": 0.3})
    assert result["required"] == {"won": 300, "sql": 1000, "sal": 2000, "mql": 3334}
    assert result["sample"] == {"quarters": 4, "mql": 0, "won": 0}
    assert result["by_rep"] == [] and result["lag_months"] == 0


def test_drafting_the_volume_target(session, people, world):
    result = planning.plan(session=session, actor=people["marco"], quarter="2026-Q3")
    draft = planning.draft_volume_target(session=session, actor=people["marco"],
                                         agreement_id=world, plan=result)
    assert (draft.number, draft.state, draft.based_on) == (2, "draft", 1)
    volume = draft.document.commitment("mql-volume")
    assert volume.target == 334 == -(-result["required"]["mql"] // 3) and volume.per == "month"
    active = agreements.get_version(session=session, actor=people["marco"], agreement_id=world,
                                    number=1)
    assert active.state == "active" and active.document.commitment("mql-volume").target == 1000
    comments = agreements.list_comments(session=session, actor=people["marco"],
                                        agreement_id=world, number=2)
    assert comments[0].clause == "mql-volume" and "1,000 MQLs" in comments[0].body


def test_a_weekly_volume_commitment_gets_a_weekly_target(session, people):
    version = activate(session, people, document(REVENUE_GOAL, volume_per="week"))
    plant_history(session)
    result = planning.plan(session=session, actor=people["sofia"], quarter="2026-Q3")
    draft = planning.draft_volume_target(session=session, actor=people["sofia"],
                                         agreement_id=version.agreement_id, plan=result)
    assert draft.document.commitment("mql-volume").target == 78  # ⌈334 × 3 / 13⌉


def test_a_draft_needs_a_plan_and_an_agreement(session, people, world):
    with pytest.raises(InvalidInput) as raised:
        planning.draft_volume_target(session=session, actor=people["sofia"], agreement_id=world,
                                     plan={"monthly_volume_target": 0})
    assert raised.value.field == "plan"
    with pytest.raises(NotFound):
        planning.draft_volume_target(session=session, actor=people["sofia"], agreement_id=99,
                                     plan={"monthly_volume_target": 5})
    versions = agreements.list_versions(session=session, actor=people["sofia"],
                                        agreement_id=world)
    assert [v.number for v in versions] == [1]


@pytest.mark.parametrize("name", ["ana", "ben", "mia", "erin", "root"])
def test_only_heads_may_propose_a_volume_target(session, people, world, name):
    result = planning.plan(session=session, actor=people[name], quarter="2026-Q3")
    with pytest.raises(PermissionDenied):
        planning.draft_volume_target(session=session, actor=people[name], agreement_id=world,
                                     plan=result)
    versions = agreements.list_versions(session=session, actor=people["sofia"],
                                        agreement_id=world)
    assert [v.number for v in versions] == [1]
