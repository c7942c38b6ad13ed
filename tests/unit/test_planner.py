"""The goal planner's arithmetic and its reading of history (core.planner)."""

import math

import pandas as pd
import pytest

from core import planner
from core.periods import parse_period

DESIGN_RATES = {"mql_sal": 0.6, "sal_sql": 0.5, "sql_won": 0.3}
SAMPLE = {"quarters": 4, "mql": 5998, "won": 780}
Q1 = parse_period("2018-Q1", "UTC")
Q2 = parse_period("2018-Q2", "UTC")


def design_plan(**changes) -> dict:
    arguments = {"revenue": 2_400_000, "quarter": "2018-Q3", "rates": DESIGN_RATES,
                 "avg_won": 8000, "lag_months": 0, "rep_share": {}, "sample": SAMPLE,
                 **changes}
    return planner.plan(**arguments)


def test_the_design_example_exactly():
    result = design_plan()
    assert list(result)[:8] == ["quarter", "revenue", "avg_won", "rates", "required", "by_month",
                                "sample", "lag_months"]
    assert result["quarter"] == "2018-Q3"
    assert result["revenue"] == 2400000 and isinstance(result["revenue"], int)
    assert result["avg_won"] == 8000
    assert result["rates"] == DESIGN_RATES
    assert result["required"] == {"won": 300, "sql": 1000, "sal": 2000, "mql": 3334}
    assert result["by_month"] == [{"month": "2018-07", "mql": 1112},
                                  {"month": "2018-08", "mql": 1111},
                                  {"month": "2018-09", "mql": 1111}]
    assert result["sample"] == SAMPLE
    assert result["monthly_volume_target"] == 1112
    assert result["ranges"] == {"mql_sal": None, "sal_sql": None, "sql_won": None}
    assert result["by_rep"] == []


def test_the_plan_has_exactly_the_documented_keys():
    assert set(design_plan()) == {"quarter", "revenue", "avg_won", "rates", "required",
                                  "by_month", "sample", "lag_months", "ranges", "by_rep",
                                  "monthly_volume_target"}


def test_a_lag_moves_the_mqls_earlier_across_a_year_end():
    assert [row["month"] for row in design_plan(lag_months=1)["by_month"]] == [
        "2018-06", "2018-07", "2018-08"]
    assert [row["month"] for row in design_plan(quarter="2019-Q1", lag_months=2)["by_month"]] == [
        "2018-11", "2018-12", "2019-01"]
    assert [row["mql"] for row in design_plan(lag_months=1)["by_month"]] == [1112, 1111, 1111]


@pytest.mark.parametrize(("revenue", "avg_won", "rates", "required"), [
    # 300 / 0.3 is 1000.0000000000001 in floating point: still 1000 SQLs.
    (300, 1, {"mql_sal": 1, "sal_sql": 1, "sql_won": 0.3}, {"won": 300, "sql": 1000}),
    # 0.7 / 0.1 is 6.999999999999999: 7 won deals, not 6 nor 8.
    (0.7, 0.1, {"mql_sal": 1, "sal_sql": 1, "sql_won": 1}, {"won": 7, "sql": 7}),
    # 110 / 1.1 is 100.00000000000001.
    (110, 1.1, {"mql_sal": 0.7, "sal_sql": 1, "sql_won": 1}, {"won": 100, "mql": 143}),
    # A true fraction still rounds up.
    (1000, 3, {"mql_sal": 1, "sal_sql": 1, "sql_won": 1}, {"won": 334}),
])
def test_ceilings_ignore_floating_point_noise(revenue, avg_won, rates, required):
    result = design_plan(revenue=revenue, avg_won=avg_won, rates=rates)["required"]
    assert {key: result[key] for key in required} == required


def test_by_rep_splits_sum_exactly_with_largest_remainders():
    shares = {"ana": 0.5, "ben": 0.3333, "cleo": 0.1667}
    result = design_plan(rep_share=shares)
    by_rep = result["by_rep"]
    assert [row["rep"] for row in by_rep] == ["ana", "ben", "cleo"]
    assert sum(row["mql"] for row in by_rep) == 3334
    assert sum(row["won"] for row in by_rep) == 300
    assert [row["won"] for row in by_rep] == [150, 100, 50]
    assert [row["mql"] for row in by_rep] == [1667, 1111, 556]  # 1667.0, 1111.2, 555.8
    assert by_rep[0]["share"] == 0.5


def test_split_by_share_edge_cases():
    assert planner.split_by_share(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert planner.split_by_share(0, {"a": 0.5, "b": 0.5}) == {"a": 0, "b": 0}
    assert planner.split_by_share(7, {}) == {}
    assert sum(planner.split_by_share(1001, {"a": 0.29, "b": 0.29, "c": 0.42}).values()) == 1001


def test_split_evenly_gives_the_remainder_to_the_earliest_parts():
    assert planner.split_evenly(3334, 3) == [1112, 1111, 1111]
    assert planner.split_evenly(3335, 3) == [1112, 1112, 1111]
    assert planner.split_evenly(2, 3) == [1, 1, 0]


@pytest.mark.parametrize(("changes", "field"), [
    ({"revenue": 0}, "revenue"),
    ({"revenue": -5}, "revenue"),
    ({"avg_won": 0}, "avg_won"),
    ({"lag_months": -1}, "lag_months"),
    ({"quarter": "2018-07"}, "quarter"),
    ({"rates": {"mql_sal": 0.6, "sal_sql": 0.5}}, "rates"),
    ({"rates": {**DESIGN_RATES, "sql_won": 0}}, "rates"),
    ({"rates": {**DESIGN_RATES, "sql_won": 1.2}}, "rates"),
])
def test_bad_plan_inputs_name_their_field(changes, field):
    with pytest.raises(planner.PlanInputError) as raised:
        design_plan(**changes)
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)


def test_history_stops_before_the_quarter_running_now():
    # Its MQLs have not had time to convert.
    assert planner.history_quarters("2018-Q2", 2, running="2018-Q3") == ["2017-Q4", "2018-Q1"]
    assert planner.history_quarters("2018-Q2", 2, running="2018-Q2") == ["2017-Q4", "2018-Q1"]
    assert planner.history_quarters("2018-Q2", 2, running="2018-Q1") == ["2017-Q3", "2017-Q4"]
    assert planner.history_quarters("2018-Q4", 2, running="2018-Q2") == ["2017-Q4", "2018-Q1"]


# --- history ---------------------------------------------------------------------------------


def stamp(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["mql_at", "accepted_at", "rejected_at", "sql_at", "won_at"]
    data = {name: pd.Series([stamp(row.get(name)) for row in rows], dtype="datetime64[ns, UTC]")
            for name in columns}
    data["owner"] = [row.get("owner") for row in rows]
    data["amount"] = pd.Series([row.get("amount") for row in rows], dtype="float64")
    return pd.DataFrame(data)


HISTORY_ROWS = [
    # Ten MQLs in Q1 and Q2 2018.
    {"mql_at": "2018-01-05", "accepted_at": "2018-01-06", "sql_at": "2018-01-20",
     "won_at": "2018-03-01", "owner": "ana", "amount": 1000},     # won, 55 days
    {"mql_at": "2018-01-10", "accepted_at": "2018-01-11", "sql_at": "2018-02-01",
     "won_at": "2018-04-10", "owner": "ana", "amount": 3000},     # won, 90 days
    {"mql_at": "2018-02-01", "accepted_at": "2018-02-02", "sql_at": "2018-02-10",
     "owner": "ben"},
    {"mql_at": "2018-02-15", "accepted_at": "2018-02-16", "rejected_at": "2018-02-20",
     "owner": "ben"},                                            # rejected after: not a SAL
    {"mql_at": "2018-03-01", "rejected_at": "2018-03-02", "accepted_at": "2018-03-05",
     "owner": "ben"},                                            # accepted after: a SAL
    {"mql_at": "2018-04-01", "accepted_at": "2018-04-02", "sql_at": "2018-04-09",
     "won_at": "2018-05-01", "owner": "ben", "amount": 2000},     # won, 30 days
    {"mql_at": "2018-04-02", "rejected_at": "2018-04-03", "owner": "ana"},
    {"mql_at": "2018-05-01", "owner": "ana"},
    {"mql_at": "2018-05-02", "accepted_at": "2018-05-03", "owner": "cleo"},
    {"mql_at": "2018-06-30", "owner": "cleo"},
    # Outside the cohorts: an MQL of 2017 won inside the quarters (counts for avg_won and
    # the lag, not for the rates), and an MQL of Q3 (ignored).
    {"mql_at": "2017-12-01", "accepted_at": "2017-12-02", "sql_at": "2017-12-15",
     "won_at": "2018-02-01", "owner": "ana", "amount": 6000},     # won, 62 days
    {"mql_at": "2018-07-01", "accepted_at": "2018-07-01", "sql_at": "2018-07-02",
     "won_at": "2018-07-03", "owner": "ben", "amount": 99999},
]


def test_history_counts_cohorts_rates_and_won_deals():
    past = planner.history(frame(HISTORY_ROWS), [Q1, Q2])
    assert (past.quarters, past.mql, past.sal, past.sql, past.won_cohort) == (2, 10, 6, 4, 3)
    assert past.rate("mql_sal") == 0.6 and past.rates["mql_sal"].sample == 10
    assert past.rate("sal_sql") == round(4 / 6, 4) and past.rates["sal_sql"].sample == 6
    assert past.rate("sql_won") == 0.75 and past.rates["sql_won"].sample == 4
    assert past.won_deals == 4 and past.avg_won_sample == 4
    assert past.avg_won == 3000.0  # (1000 + 3000 + 2000 + 6000) / 4
    assert past.median_days == 58.5  # 30, 55, 62, 90
    assert past.lag_months == 2  # 58.5 / 30.44 = 1.92
    assert past.rep_share == {"ana": 0.75, "ben": 0.25}
    assert past.sample == {"quarters": 2, "mql": 10, "won": 4}


def test_history_ranges_are_wilson_intervals_around_the_rate():
    past = planner.history(frame(HISTORY_ROWS), [Q1, Q2])
    low, high = past.rates["mql_sal"].range
    assert low < 0.6 < high
    assert low == pytest.approx(0.3127, abs=1e-3) and high == pytest.approx(0.8318, abs=1e-3)
    assert past.ranges["sql_won"][1] <= 1
    assert planner.wilson(0, 0) is None
    low, high = planner.wilson(0, 20)
    assert low == 0 and 0.1 < high < 0.2
    low, high = planner.wilson(500, 1000)
    assert math.isclose(low + high, 1.0) and high - low < 0.07


def test_history_without_wins_shares_reps_by_mqls():
    rows = [{"mql_at": "2018-01-05", "owner": "ana"}, {"mql_at": "2018-01-06", "owner": "ana"},
            {"mql_at": "2018-01-07", "owner": "ben"}, {"mql_at": "2018-01-08"}]
    past = planner.history(frame(rows), [Q1])
    assert past.share_basis == "mql"
    assert past.rep_share == {"ana": round(2 / 3, 4), "ben": round(1 / 3, 4)}
    assert past.avg_won is None and past.lag_months is None
    assert past.rate("mql_sal") == 0.0 and past.rate("sal_sql") is None


def test_empty_history_refuses_unless_everything_is_given():
    past = planner.history(frame([]), [Q1, Q2])
    assert past.mql == 0 and past.rates == {} and past.avg_won is None
    with pytest.raises(planner.PlanInputError) as raised:
        planner.assumptions(past)
    assert raised.value.field == "rates"
    for key in planner.RATE_KEYS:
        assert key in str(raised.value)
    with pytest.raises(planner.PlanInputError, match="avg_won"):
        planner.assumptions(past, rates=DESIGN_RATES)
    assert planner.assumptions(past, rates=DESIGN_RATES, avg_won=8000) == (DESIGN_RATES, 8000, 0)


def test_a_zero_historical_rate_is_refused_but_can_be_overridden():
    rows = [{"mql_at": "2018-01-05", "accepted_at": "2018-01-06", "sql_at": "2018-01-07",
             "owner": "ana"}]
    past = planner.history(frame(rows), [Q1])
    with pytest.raises(planner.PlanInputError, match=r"sql_won \(0 of 1 SQLs"):
        planner.assumptions(past, avg_won=100)
    rates, _, _ = planner.assumptions(past, avg_won=100, rates={"sql_won": 0.25})
    assert rates == {"mql_sal": 1.0, "sal_sql": 1.0, "sql_won": 0.25}


def test_overrides_win_over_history():
    past = planner.history(frame(HISTORY_ROWS), [Q1, Q2])
    rates, avg_won, lag = planner.assumptions(past, rates={"mql_sal": 0.5}, avg_won=10,
                                              lag_months=0)
    assert rates == {"mql_sal": 0.5, "sal_sql": round(4 / 6, 4), "sql_won": 0.75}
    assert (avg_won, lag) == (10, 0)


def test_parse_rates():
    assert planner.parse_rates(["mql_sal=0.6", "sal_sql=0.5", "sql_won=1"]) == DESIGN_RATES | {
        "sql_won": 1.0}
    assert planner.parse_rates([]) == {}


@pytest.mark.parametrize(("item", "words"), [
    ("mql_won=0.5", "unknown rate 'mql_won'"),
    ("mql_sal=high", "'high' is not a number"),
    ("mql_sal=0", "[0.001, 1]"),
    ("mql_sal=1e-9", "[0.001, 1]"),
    ("mql_sal=1.5", "[0.001, 1]"),
    ("mql_sal=nan", "[0.001, 1]"),
    ("mql_sal", "NAME=VALUE"),
])
def test_parse_rates_errors_name_the_item(item, words):
    with pytest.raises(ValueError) as raised:
        planner.parse_rates(["sal_sql=0.5", item])
    assert item in str(raised.value) and words in str(raised.value)


def test_parse_rates_refuses_a_repeat():
    with pytest.raises(ValueError, match="given twice"):
        planner.parse_rates(["sql_won=0.3", "sql_won=0.4"])


@pytest.mark.parametrize(("revenue", "avg_won", "field"), [
    (float("inf"), 8000, "revenue"), (1e308, 8000, "revenue"), (float("nan"), 8000, "revenue"),
    (2_400_000, 1e-300, "avg_won"), (2_400_000, float("inf"), "avg_won"),
])
def test_absurd_amounts_are_refused_before_any_arithmetic(revenue, avg_won, field):
    with pytest.raises(planner.PlanInputError, match=f"^{field}: "):
        planner.plan(revenue, "2018-Q3", DESIGN_RATES, avg_won, 0, {"ana": 1.0},
                     {"quarters": 4, "mql": 100, "won": 10})
