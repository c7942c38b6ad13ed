"""Scorecard, chart frames, drill-downs and the worklist (core.dashboard) on the hand-computed
fixture of test_compliance: Mon–Fri 09:00–17:00 UTC, March 2018, as of Wed 07 12:00."""

import numpy as np
import pandas as pd
import pytest

from core import dashboard
from core.compliance import evaluate
from tests.unit.test_compliance import AS_OF, LEADS, MARCH, TOUCHES, by_id, document, lead_frame
from tests.unit.test_compliance import touch_frame as touches_of

HOUR = 3600


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(document(), lead_frame(LEADS), touches_of(TOUCHES), MARCH, AS_OF)


@pytest.fixture(scope="module")
def report(evaluation):
    return evaluation.report()


def test_scorecard_rows_carry_the_report_figures_and_the_trend(report):
    previous = {"commitments": [{**c, "compliance_pct": 50.0} if c["id"] == "first-touch" else c
                                for c in report["commitments"]], "shared_goals": []}
    card = dashboard.scorecard(report, previous).set_index("id")
    first = by_id(report["commitments"])["first-touch"]
    assert card.loc["first-touch", "side"] == "sales"
    assert card.loc["first-touch", "value_pct"] == first["compliance_pct"] == 33.33
    assert card.loc["first-touch", "trend_pct"] == round(33.33 - 50.0, 2)
    assert card.loc["first-touch", "status_words"] == "At risk"
    assert card.loc["first-touch", "headline"] == "33.3% handled within 4h (target 90%)"
    assert card.loc["mql-volume", "side"] == "marketing"
    # A running count is judged, shown and compared by its pace (5 against the
    # expected-to-date); the partial total is the headline under it.
    assert card.loc["mql-volume", "headline"] == "5 of 1,000 MQLs so far (0.5% of the target)"
    volume = by_id(report["commitments"])["mql-volume"]
    pace = round(volume["actual"] / volume["expected_to_date"] * 100, 2)
    assert card.loc["mql-volume", "value_pct"] == pace
    assert card.loc["mql-volume", "trend_basis"] == "pace"
    assert card.loc["mql-volume", "status"] == ("on_track" if pace >= 100 else "at_risk")
    assert card.loc["won-revenue", "side"] == "shared"
    assert pd.isna(card.loc["won-revenue", "trend_pct"])  # no previous figure


def test_reading_says_where_each_side_stands(report):
    volume = by_id(report["commitments"])["mql-volume"]
    pace = round(volume["actual"] / volume["expected_to_date"] * 100)
    assert dashboard.reading(report) == (
        f"Marketing is at {pace}% of the MQL pace; sales met first touch on 33% of leads "
        "against 90%.")
    over = {**report, "as_of": "2018-05-01T00:00:00Z"}
    assert dashboard.reading(over).startswith("Marketing delivered 0.5% of the MQL target")


def test_cumulative_volume_ends_at_the_report_figures(evaluation, report):
    frame = dashboard.cumulative_volume(evaluation)
    volume = by_id(report["commitments"])["mql-volume"]
    actual = frame[frame["series"] == "actual"]
    # MQLs: three on Mon 05, one on Tue 06, one on Wed 07 by as_of (L6 at 13:00 is later).
    assert actual["leads"].tolist()[-3:] == [3, 4, 5]
    assert actual["day"].max() == pd.Timestamp("2018-03-07")
    assert actual["leads"].iloc[-1] == volume["actual"]
    target = frame[frame["series"] == "target"]
    assert len(target) == 31 and target["leads"].iloc[-1] == pytest.approx(volume["target"])
    projection = frame[frame["series"] == "projection"]
    assert projection["leads"].iloc[-1] == pytest.approx(volume["projected"], abs=0.01)


def test_weekly_compliance_counts_resolved_clocks_by_start_week(evaluation):
    weekly = dashboard.weekly_compliance(evaluation).set_index(["commitment", "week"])
    row = weekly.loc[("first-touch", pd.Timestamp("2018-03-05"))]
    # L1 met; L2 breached; L3 overdue; L4 pending and L5 at risk are left out.
    assert (row["met"], row["breached"], row["compliance_pct"]) == (1, 2, 33.33)
    assert row["target_pct"] == 90 and row["owner"] == "sales"


def test_response_distribution_bins_stopped_clocks(evaluation):
    frame = dashboard.response_distribution(evaluation, "first-touch")
    # Budget 4 h → 24 bins of 0.5 h up to 12 h. L1 stopped after 1 h (met), L2 after 8 h.
    assert frame[["hours_from", "state", "leads"]].values.tolist() == [
        [1.0, "met", 1], [8.0, "breached", 1]]
    assert set(frame["budget_hours"]) == {4.0}


def test_rep_week_heatmap(evaluation):
    heat = dashboard.rep_week_heatmap(evaluation, "first-touch").set_index("rep")
    assert heat.loc["ann", "compliance_pct"] == 50.0  # L1 met, L3 overdue
    assert heat.loc["bob", "compliance_pct"] == 0.0  # L2 breached


def test_funnel_reasons_conformance_and_goals_match_the_report(evaluation, report):
    funnel = dashboard.funnel(report).set_index("stage")
    assert funnel["leads"].to_dict() == {k: report["funnel"][k] for k in
                                         ("mql", "sal", "sql", "won")}
    reasons = dashboard.rejection_reasons(report)
    assert dict(zip(reasons["reason"], reasons["leads"], strict=True)) == \
        report["quality"]["rejection_reasons"]
    conformance = dashboard.conformance(evaluation).set_index("criterion")
    assert conformance.loc["all criteria", "pct"] == \
        report["quality"]["definition_conformance_pct"]
    assert conformance.loc["score >= 60", "mqls"] == report["funnel"]["mql"]
    goals = dashboard.goal_progress(report)
    actual = goals[goals["measure"] == "actual"].set_index("goal")["value"]
    assert actual["won-revenue"] == by_id(report["shared_goals"])["won-revenue"]["actual"]


def test_the_leads_behind_a_mark(evaluation):
    week = dashboard.leads_behind(evaluation, "weekly",
                                  {"commitment": "first-touch", "week": "2018-03-05"})
    assert sorted(week["external_id"]) == ["L1", "L2", "L3"]
    assert dict(zip(week["external_id"], week["state"], strict=True)) == {
        "L1": "met", "L2": "breached", "L3": "overdue"}
    assert week.attrs["total"] == 3
    reasons = dashboard.leads_behind(evaluation, "reasons", {"reason": "not_a_fit"})
    assert reasons["external_id"].tolist() == ["L5"]  # L2's later acceptance wins
    day = dashboard.leads_behind(evaluation, "volume", {"day": "2018-03-06"})
    assert day["external_id"].tolist() == ["L5"]
    rep = dashboard.leads_behind(evaluation, "heatmap", {"commitment": "first-touch",
                                                          "rep": "ann", "week": "2018-03-05"})
    assert sorted(rep["external_id"]) == ["L1", "L3"]
    late = dashboard.leads_behind(evaluation, "distribution", {
        "commitment": "first-touch", "state": "breached", "hours_from": 8.0, "hours_to": 8.5})
    assert late["external_id"].tolist() == ["L2"]
    failing = dashboard.leads_behind(evaluation, "conformance", {"criterion": "score >= 60"})
    assert sorted(failing["external_id"]) == ["L3", "L4"]  # no score, and 59
    with pytest.raises(ValueError, match="no chart"):
        dashboard.leads_behind(evaluation, "pie", {})


def test_worklist_puts_the_most_urgent_open_clock_first(evaluation):
    rows = dashboard.worklist(evaluation)
    # L3: first touch overdue by 14 business hours (due Mon 14:00, 46 calendar hours ago).
    # L2: only the attempts clock is open: 40 h budget − 18 h elapsed = 22 h left.
    # L4 and L5 were rejected, L1 finished every clock.
    assert rows["external_id"].tolist() == ["L3", "L2"]
    assert rows["commitment"].tolist() == ["first-touch", "attempts"]
    assert rows["state"].tolist() == ["overdue", "pending"]
    assert rows["business_seconds_left"].tolist() == [-14 * HOUR, 22 * HOUR]
    assert rows["calendar_seconds_left"].iloc[0] == -46 * HOUR


def test_no_chart_frame_exceeds_the_row_cap_for_many_reps():
    many = [{"mql_at": f"2018-03-{day:02d} 10:00", "owner": f"rep{index}"}
            for index in range(1300) for day in (5, 12, 19, 26)]
    touches = [(index + 1, f"2018-03-{5 + 7 * (index % 4):02d} 11:00", False)
               for index in range(len(many))]
    evaluation = evaluate(document(), lead_frame(many), touches_of(touches), MARCH,
                          pd.Timestamp("2018-04-02", tz="UTC"))
    heat = dashboard.rep_week_heatmap(evaluation, "first-touch")
    assert 4000 < len(heat) <= dashboard.MAX_CHART_ROWS  # the busiest reps, every week
    assert heat.attrs["hidden_reps"] == 1300 - heat["rep"].nunique() > 0
    assert np.isfinite(heat["compliance_pct"]).all()


def test_a_rep_next_to_the_team(evaluation):
    rows = dashboard.rep_versus_team(evaluation, "ann").set_index("commitment")
    # ann: L1 met, L3 overdue (50%); the team: 1 of 3 (33.33%).
    assert rows.loc["first-touch", ["mine_pct", "mine_clocks", "team_pct", "target_pct"]].tolist(
    ) == [50.0, 2, 33.33, 90]


def test_what_if_comparison_lines_up_commitments(report):
    tighter = {**report, "commitments": [
        {**c, "within": "30m", "compliance_pct": 0.0} if c["id"] == "first-touch" else c
        for c in report["commitments"]]}
    compared = dashboard.compare_reports(report, tighter).set_index("commitment")
    assert compared.loc["first-touch", ["actual_pct", "what_if_pct", "difference_pts"]].tolist(
    ) == [33.33, 0.0, -33.33]
    assert compared.loc["first-touch", "what_if"] == "0.0% handled within 30m (target 90%)"
    assert compared.loc["mql-volume", "difference_pts"] == 0
