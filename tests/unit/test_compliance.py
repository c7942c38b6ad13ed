"""Compliance report of one SLA document (DESIGN §4–§6): clocks, volume, acceptance, funnel.

The calendar is the template's Mon–Fri 09:00–17:00 in UTC, so hand computations stay simple.
March 2018: Thu 1, Fri 2, then Mon 5 … Fri 30 → 22 working days, 176 business hours.
as_of is Wed 2018-03-07 12:00 UTC unless a test says otherwise.
"""

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.agreement import from_dict, template, to_dict
from core.calendar import instants_ns
from core.compliance import (
    CLOCK_STATES,
    clock_detail,
    clock_frame,
    criterion_mask,
    report,
)
from core.periods import InForce, Period, in_force, parse_period, previous_period

HOUR = 3600
STAMPS = ["created_at", "mql_at", "accepted_at", "rejected_at", "sql_at", "opportunity_at",
          "won_at", "lost_at"]
AS_OF = pd.Timestamp("2018-03-07 12:00", tz="UTC")
MARCH = Period(pd.Timestamp("2018-03-01", tz="UTC"), pd.Timestamp("2018-04-01", tz="UTC"))


def document(**changes):
    """The template in UTC, with top-level keys replaced by `changes`."""
    data = to_dict(template(title="Test SLA", start=date(2018, 1, 1), end=date(2019, 1, 1),
                            timezone="UTC"))
    data.update(changes)
    return from_dict(data)


def t(text: str | None) -> pd.Timestamp:
    """A UTC timestamp, NaT for None."""
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def lead_frame(rows: list[dict]) -> pd.DataFrame:
    """Leads with every column of the compliance input, defaults filled in."""
    full = []
    for index, row in enumerate(rows, start=1):
        base = {"id": index, "source": "crm", "external_id": f"L{index}", "rejection_reason": None,
                "owner": None, "channel": None, "segment": None, "region": None, "country": None,
                "company": None, "name": None, "email": None, "score": np.nan, "amount": np.nan,
                "recycled": False, "attributes": {}, "disputed": False}
        base.update({column: None for column in STAMPS})
        base.update(row)
        base["created_at"] = base["created_at"] or base["mql_at"]
        full.append(base)
    frame = pd.DataFrame(full)
    for column in STAMPS:
        frame[column] = pd.to_datetime(frame[column].map(t), utc=True)
    frame["score"] = frame["score"].astype(float)
    frame["amount"] = frame["amount"].astype(float)
    return frame


def touch_frame(rows: list[tuple]) -> pd.DataFrame:
    """Touches from (lead_id, at, automated) tuples."""
    return pd.DataFrame({
        "lead_id": pd.Series([row[0] for row in rows], dtype="int64"),
        "at": pd.to_datetime([t(row[1]) for row in rows], utc=True),
        "kind": "call",
        "rep": "ann",
        "automated": pd.Series([row[2] for row in rows], dtype=bool),
    })


# L1: MQL Mon 05 10:00, accepted Mon 09:00 (before the MQL: counts at the start), touches Mon 11:00,
#     Tue 10:00, Wed 11:00 → first touch met (1 h), attempts met at the 3rd touch (7+8+2 = 17 h).
#     SQL Tue 10:00, opportunity Tue 12:00, won Wed 10:00 for 5,000.
# L2: MQL Mon 10:00, touch Tue 10:00 → first touch breached: elapsed 7+1 = 8 h, due Mon 14:00,
#     breach 4 h. Rejected Tue 10:00, accepted Tue 11:00: the later accept wins; the clock
#     accept-or-reject stops at the earlier event (8 h).
# L3: MQL Mon 10:00, no touch; accepted Thu 08 (after as_of: ignored) → first touch overdue
#     (elapsed 7+8+3 = 18 h, breach 14 h); accept-or-reject pending (due Thu 10:00, 6 h left =
#     exactly 25% of 24 h, so not at risk).
# L4: MQL Wed 07 09:00, only an automated touch at 09:30 → pending, due 13:00, 1 h left (not
#     below max(25% of 4 h, 1 h)). Rejected Wed 10:00 (duplicate, disputed).
# L5: MQL Tue 06 16:30 → 0.5 h + 3 h elapsed, 0.5 h left → at_risk. Accepted Tue 17:00, rejected
#     17:30 (not_a_fit): the later rejection wins.
# L6: MQL Wed 13:00, after as_of → not measured. L7: MQL in February, won in March for 7,000.
LEADS = [
    {"mql_at": "2018-03-05 10:00", "accepted_at": "2018-03-05 09:00", "sql_at": "2018-03-06 10:00",
     "opportunity_at": "2018-03-06 12:00", "won_at": "2018-03-07 10:00", "amount": 5000,
     "score": 80, "channel": "paid_search", "owner": "ann"},
    {"mql_at": "2018-03-05 10:00", "rejected_at": "2018-03-06 10:00",
     "accepted_at": "2018-03-06 11:00", "rejection_reason": "not_a_fit", "score": 60,
     "channel": "paid_search", "owner": "bob", "recycled": True},
    {"mql_at": "2018-03-05 10:00", "accepted_at": "2018-03-08 10:00", "channel": None,
     "owner": "ann"},
    {"mql_at": "2018-03-07 09:00", "rejected_at": "2018-03-07 10:00",
     "rejection_reason": "duplicate", "disputed": True, "score": 59, "channel": "organic",
     "owner": "bob"},
    {"mql_at": "2018-03-06 16:30", "accepted_at": "2018-03-06 17:00",
     "rejected_at": "2018-03-06 17:30", "rejection_reason": "not_a_fit", "score": 70,
     "channel": "organic", "owner": "ann"},
    {"mql_at": "2018-03-07 13:00", "score": 90, "channel": "organic"},
    {"mql_at": "2018-02-20 10:00", "sql_at": "2018-02-22 10:00",
     "opportunity_at": "2018-02-23 10:00", "won_at": "2018-03-06 10:00", "amount": 7000},
]
TOUCHES = [
    (1, "2018-03-05 11:00", False), (1, "2018-03-06 10:00", False),
    (1, "2018-03-07 11:00", False), (2, "2018-03-06 10:00", False),
    (4, "2018-03-07 09:30", True),
]


@pytest.fixture(scope="module")
def scorecard() -> dict:
    return report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF)


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def test_first_touch_states_and_seconds(scorecard):
    first = by_id(scorecard["commitments"])["first-touch"]
    # met L1; breached L2 (stopped late) + L3 (overdue); pending L4 + L5 (L5 at risk).
    assert first["met"] == 1 and first["breached"] == 2 and first["overdue"] == 1
    assert first["pending"] == 2 and first["at_risk"] == 1
    assert first["compliance_pct"] == 33.33  # 1 / (1 + 2)
    assert first["within_seconds"] == 4 * HOUR
    # stopped clocks: 1 h and 8 h → median 4.5 h; p90 = 1 h + 0.9 × 7 h = 7.3 h.
    assert first["median_seconds"] == 16200 and first["p90_seconds"] == 26280
    assert first["median_breach_seconds"] == 4 * HOUR  # only L2 is stopped and breached
    assert first["status"] == "at_risk"  # running period, 33.33 < 90


def test_accept_or_reject_counts_early_accept_at_start(scorecard):
    accept = by_id(scorecard["commitments"])["accept-or-reject"]
    # met L1 (0 s), L2 (8 h), L4 (1 h), L5 (0.5 h); L3 pending (its accept is after as_of).
    assert (accept["met"], accept["breached"], accept["pending"], accept["at_risk"]) == (4, 0, 1, 0)
    assert accept["compliance_pct"] == 100.0
    assert accept["median_seconds"] == 2700  # median of 0, 1800, 3600, 28800
    assert accept["status"] == "on_track"


def test_attempts_met_at_the_nth_human_touch(scorecard):
    attempts = by_id(scorecard["commitments"])["attempts"]
    # Only L1 has 3 human touches, the 3rd Wed 11:00 (17 business hours), due Mon 12 10:00.
    assert (attempts["met"], attempts["breached"], attempts["pending"]) == (1, 0, 4)
    assert attempts["within_seconds"] is None  # a 5d budget has no fixed length
    assert attempts["median_seconds"] == 17 * HOUR


def test_detail_rows():
    detail = clock_detail(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF)
    assert len(detail) == 15  # 5 measured leads × 3 clock commitments
    assert set(detail["state"]) <= set(CLOCK_STATES)
    first = detail[detail["commitment"] == "first-touch"].set_index("external_id")
    assert first.loc["L2", "state"] == "breached"
    assert first.loc["L2", "start"] == "2018-03-05T10:00:00Z"
    assert first.loc["L2", "due"] == "2018-03-05T14:00:00Z"
    assert first.loc["L2", "stopped_at"] == "2018-03-06T10:00:00Z"
    assert first.loc["L2", "elapsed_seconds"] == 8 * HOUR
    assert first.loc["L2", "breach_seconds"] == 4 * HOUR
    assert first.loc["L3", "state"] == "overdue"
    assert first.loc["L3", "stopped_at"] is None
    assert first.loc["L3", "breach_seconds"] == 14 * HOUR  # 18 h elapsed − 4 h
    # The automated touch at 09:30 did not stop L4's clock.
    assert first.loc["L4", "state"] == "pending" and first.loc["L4", "stopped_at"] is None
    assert pd.isna(first.loc["L4", "breach_seconds"])
    assert first.loc["L5", "state"] == "at_risk"
    attempts = detail[detail["commitment"] == "attempts"].set_index("external_id")
    assert attempts.loc["L1", "due"] == "2018-03-12T10:00:00Z"
    assert detail["agreement_version"].isna().all()  # no version number was given
    versioned = clock_detail(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                             agreement_version=3)
    assert set(versioned["agreement_version"]) == {3}


def test_events_after_as_of_are_ignored(scorecard):
    leads = lead_frame(LEADS)
    leads.loc[leads["external_id"] == "L4", "accepted_at"] = t("2018-03-09 10:00")
    leads.loc[leads["external_id"] == "L5", "won_at"] = t("2018-03-20 10:00")
    later = [*TOUCHES, (3, "2018-03-07 12:30", False), (5, "2018-03-08 09:00", False)]
    assert report(document(), leads, touch_frame(later), MARCH, AS_OF) == scorecard


def test_volume(scorecard):
    volume = by_id(scorecard["commitments"])["mql-volume"]
    # 5 MQLs by as_of (L6 comes after it). 35 of 176 business hours elapsed.
    assert volume["actual"] == 5 and volume["target"] == 1000
    assert volume["attainment_pct"] == 0.5
    assert volume["expected_to_date"] == 198.86  # 1000 × 35 / 176
    assert volume["projected"] == 25.14  # 5 × 176 / 35
    assert volume["status"] == "at_risk"


@pytest.mark.parametrize(("period", "target"), [
    ("2018-01-01:2018-06-01", 6000),  # five whole months at 1,200
    ("2018-03-01:2018-03-16", 600),  # 11 of March's 22 working days
])
def test_volume_target_is_prorated(period, target):
    doc = document()
    data = to_dict(doc)
    data["commitments"][0]["target"] = 1200
    result = report(from_dict(data), lead_frame(LEADS), touch_frame(TOUCHES),
                    parse_period(period, "UTC"), pd.Timestamp("2018-07-01", tz="UTC"))
    volume = by_id(result["commitments"])["mql-volume"]
    assert volume["target"] == target
    assert volume["status"] == "missed"  # the period is over and 6 MQLs fall short


def test_acceptance_and_quality(scorecard):
    acceptance = by_id(scorecard["commitments"])["mql-acceptance"]
    # accepted: L1, L2 (accept after rejection); rejected: L4, L5 (rejection after accept).
    assert (acceptance["accepted"], acceptance["rejected"]) == (2, 2)
    assert acceptance["acceptance_pct"] == 50.0 and acceptance["status"] == "at_risk"
    quality = scorecard["quality"]
    assert quality["rejection_reasons"] == {"duplicate": 1, "not_a_fit": 1}
    assert quality["disputed"] == 1 and quality["recycled"] == 1
    # score >= 60: L1 (80), L2 (60), L5 (70) conform; L3 (missing) and L4 (59) do not.
    assert quality["definition_conformance_pct"] == 60.0


def test_funnel(scorecard):
    funnel = scorecard["funnel"]
    assert (funnel["mql"], funnel["sal"], funnel["sql"], funnel["won"]) == (5, 2, 1, 1)
    assert funnel["rates"] == {"mql_sal": 0.4, "sal_sql": 0.5, "sql_won": 1.0}
    # MQL→SAL: L1 −1 h, L2 +25 h → median 12 h = 0.5 d; SAL→SQL 25 h; SQL→won 24 h.
    assert funnel["median_days"] == {"mql_sal": 0.5, "sal_sql": 1.04, "sql_won": 1.0}


def test_shared_goals():
    goals = [
        {"id": "won-revenue", "metric": "won_amount", "target": 500000, "per": "quarter"},
        {"id": "won-deals", "metric": "won_count", "target": 10, "per": "month"},
        {"id": "pipeline", "metric": "pipeline_amount", "target": 100000, "per": "month"},
        {"id": "sqls", "metric": "sql_count", "target": 4, "per": "month",
         "filter": {"channel": "paid_search"}},
    ]
    result = report(document(shared_goals=goals), lead_frame(LEADS), touch_frame(TOUCHES),
                    MARCH, AS_OF)
    found = by_id(result["shared_goals"])
    # Won in March: L1 (5,000) and L7 (7,000, an MQL of February). March = 22 of Q1's 65 days.
    assert found["won-revenue"]["actual"] == 12000
    assert found["won-revenue"]["target"] == 169230.77
    assert found["won-deals"]["actual"] == 2
    assert found["pipeline"]["actual"] == 5000  # L7's opportunity was in February
    assert found["sqls"]["actual"] == 1
    assert all(goal["status"] in ("on_track", "at_risk") for goal in result["shared_goals"])


def test_statuses_after_the_period_and_without_data():
    over = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH,
                  pd.Timestamp("2018-04-15", tz="UTC"))
    assert {item["status"] for item in over["commitments"]} <= {"met", "missed"}
    assert by_id(over["commitments"])["mql-volume"]["status"] == "missed"
    april = parse_period("2018-05", "UTC")
    empty = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), april,
                   pd.Timestamp("2018-05-10", tz="UTC"))
    statuses = {item["id"]: item["status"] for item in empty["commitments"]}
    assert statuses["first-touch"] == statuses["mql-acceptance"] == "no_data"
    assert statuses["mql-volume"] == "at_risk"


def test_breakdown_by_channel():
    result = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                    by="channel")
    rows = {row["channel"]: by_id(row["commitments"]) for row in result["breakdown"]}
    assert list(rows) == ["organic", "paid_search", None]
    assert rows["paid_search"]["first-touch"]["met"] == 1
    assert rows["paid_search"]["first-touch"]["breached"] == 1
    assert rows[None]["first-touch"]["overdue"] == 1
    assert rows[None]["first-touch"]["compliance_pct"] == 0.0
    assert rows["organic"]["mql-volume"]["actual"] == 2  # L4, L5 (L6 is after as_of)
    with pytest.raises(ValueError, match="break down"):
        report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF, by="colour")


def test_report_shape(scorecard):
    assert list(scorecard) == ["agreement", "period", "as_of", "commitments", "shared_goals",
                               "funnel", "quality", "breakdown"]
    assert scorecard["period"] == {"start": "2018-03-01T00:00:00Z", "end": "2018-04-01T00:00:00Z"}
    assert scorecard["as_of"] == "2018-03-07T12:00:00Z"
    assert scorecard["agreement"]["title"] == "Test SLA"
    assert all("status" in item for item in scorecard["commitments"] + scorecard["shared_goals"])
    assert json.loads(json.dumps(scorecard)) == scorecard  # plain JSON values only


def test_clock_frame_concatenates_per_version():
    leads, touches = lead_frame(LEADS), touch_frame(TOUCHES)
    whole = clock_frame(document(), leads, touches, AS_OF)
    first, second = leads.iloc[:3], leads.iloc[3:]
    parts = [clock_frame(document(), first, touches, AS_OF),
             clock_frame(document(), second.reset_index(drop=True), touches, AS_OF)]
    parts[1]["position"] += 3
    joined = pd.concat(parts).sort_values(["commitment", "position"]).reset_index(drop=True)
    expected = whole.sort_values(["commitment", "position"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, expected)


def amendment(start: date, first_touch_within: str, timezone: str = "UTC"):
    """The test document amended from `start` with another first-touch budget."""
    data = to_dict(document())
    data["effective"]["start"] = start
    data["calendar"]["timezone"] = timezone
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = first_touch_within
    return from_dict(data)


def test_each_clock_is_measured_against_the_version_in_force_at_its_start():
    # Version 2 (signed later) cuts first touch to 1 h from Tue 2018-03-06. L1–L3 became MQLs on
    # Mon 05 (version 1, 4 h); L5 on Tue 06 16:30 and L4 on Wed 07 09:00 (version 2, 1 h).
    versions = [InForce(1, document()), InForce(2, amendment(date(2018, 3, 6), "1h"))]
    leads, touches = lead_frame(LEADS), touch_frame(TOUCHES)
    detail = clock_detail(document(), leads, touches, MARCH, AS_OF, agreement_version=1,
                          versions=versions)
    first = detail[detail["commitment"] == "first-touch"].set_index("external_id")
    assert first["agreement_version"].to_dict() == {"L1": 1, "L2": 1, "L3": 1, "L4": 2, "L5": 2}
    assert first.loc["L2", "due"] == "2018-03-05T14:00:00Z"  # 4 h under version 1
    # L5: 0.5 h on Tue, then 0.5 h from Wed 09:00 → due Wed 09:30; untouched at 12:00 → overdue
    # (it was at_risk under version 1).
    assert first.loc["L5", "due"] == "2018-03-07T09:30:00Z"
    assert first.loc["L5", "state"] == "overdue"
    assert first.loc["L4", "due"] == "2018-03-07T10:00:00Z"
    assert first.loc["L4", "state"] == "overdue"
    # Commitments the amendment keeps unchanged still follow its calendar and rules.
    other = detail[detail["commitment"] != "first-touch"]
    assert set(other.loc[other["external_id"].isin(["L4", "L5"]), "agreement_version"]) == {2}
    # The summary lists version 1's commitments; the counts follow each lead's own version.
    result = report(document(), leads, touches, MARCH, AS_OF, versions=versions,
                    agreement={"id": 1, "version": 1, "title": "Test SLA"})
    summary = by_id(result["commitments"])["first-touch"]
    assert summary["within"] == "4h"
    assert (summary["met"], summary["breached"], summary["overdue"], summary["pending"]) == (
        1, 4, 3, 0)


def test_a_version_governs_from_local_midnight_in_its_own_zone():
    versions = [InForce(1, document()),
                InForce(2, amendment(date(2018, 3, 6), "1h", "America/New_York"))]
    starts = pd.Series([t("2018-03-06 04:59"), t("2018-03-06 05:00"), t("2017-06-01"), t(None)])
    ns = instants_ns(pd.to_datetime(starts, utc=True))
    # 05:00 UTC is midnight in New York (UTC−5); 2017 is before both versions.
    assert in_force(ns, versions).tolist() == [0, 1, -1, -1]


def test_a_clock_no_version_covers_is_left_out_and_counted():
    """A period the signed versions cover in part: the clocks that start before the only
    version's effective start are not measured against an unrelated version; the report says
    how many it left out."""
    late = [InForce(2, amendment(date(2018, 3, 6), "1h"))]
    detail = clock_detail(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                          agreement_version=1, versions=late)
    first = detail[detail["commitment"] == "first-touch"].set_index("external_id")
    assert first["agreement_version"].to_dict() == {"L4": 2, "L5": 2}
    measured = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                      versions=late)
    clock_commitments = [c for c in measured["commitments"] if c["kind"] != "volume"
                         and "met" in c]
    assert measured["not_covered"] == 3 * len(clock_commitments)
    assert "not_covered" not in report(document(), lead_frame(LEADS), touch_frame(TOUCHES),
                                       MARCH, AS_OF)


@pytest.mark.parametrize(("op", "value", "expected"), [
    (">=", 60, [True, False, False, True]),
    ("==", "x", [False, False, False, False]),
    ("in", [70, 61], [True, False, False, True]),
    ("not in", [70], [False, True, False, True]),
    ("!=", 50, [True, False, False, True]),
    ("exists", True, [True, True, False, True]),
    ("exists", False, [False, False, True, False]),
    ("contains", "0", [True, True, False, False]),
])
def test_criteria_operators(op, value, expected):
    # None is missing; the text "61" compares as a number against numeric values.
    values = pd.Series([70, 50.0, None, "61"], dtype=object)
    assert criterion_mask(values, op, value).tolist() == expected


@pytest.mark.parametrize(("op", "expected"), [
    ("<", [True, False, False, False]), (">=", [False, False, True, False]),
    ("==", [False, False, False, False]), ("!=", [True, False, True, False]),
])
def test_text_criteria_fail_on_missing_values_instead_of_raising(op, expected):
    values = pd.Series(["apple", None, "zeta", np.nan], dtype=object)
    assert criterion_mask(values, op, "m").tolist() == expected


def test_conformance_uses_attributes():
    stages = {"mql": {"criteria": [{"field": "industry", "op": "in", "value": ["saas", "fintech"]},
                                   {"field": "channel", "op": "!=", "value": "social"}]}}
    rows = [{"mql_at": "2018-03-05 10:00", "attributes": {"industry": "saas"}, "channel": "web"},
            {"mql_at": "2018-03-05 10:00", "attributes": {"industry": "retail"}, "channel": "web"},
            {"mql_at": "2018-03-05 10:00", "attributes": {}, "channel": "web"},
            {"mql_at": "2018-03-05 10:00", "attributes": {"industry": "saas"}, "channel": None}]
    result = report(document(stages=stages), lead_frame(rows), touch_frame([]), MARCH, AS_OF)
    assert result["quality"]["definition_conformance_pct"] == 25.0  # only the first


def test_parse_period_in_the_calendar_zone():
    month = parse_period("2018-03", "America/New_York")
    assert month.start == pd.Timestamp("2018-03-01 05:00", tz="UTC")
    assert month.end == pd.Timestamp("2018-04-01 04:00", tz="UTC")  # after the DST change
    quarter = parse_period("2018-Q1", "America/New_York")
    assert quarter.start == pd.Timestamp("2018-01-01 05:00", tz="UTC")
    assert quarter.end == month.end
    dates = parse_period("2018-01-01:2018-04-01", "UTC")
    assert (dates.start, dates.end) == (t("2018-01-01"), t("2018-04-01"))
    assert parse_period("2018-q4", "UTC").end == t("2019-01-01")


@pytest.mark.parametrize("text", ["2018-13", "2018-Q5", "March", "2018-03-01:2018-02-01", "",
                                  "2018-02-30:2018-03-01"])
def test_parse_period_refuses(text):
    with pytest.raises(ValueError, match="period"):
        parse_period(text, "UTC")


@pytest.mark.parametrize(("text", "before"), [
    ("2018-03", "2018-02"), ("2018-01", "2017-12"), ("2018-Q1", "2017-Q4"), ("2018-Q3", "2018-Q2"),
    ("2018-01-11:2018-01-21", "2018-01-01:2018-01-11"),
])
def test_previous_period(text, before):
    assert previous_period(text) == before
