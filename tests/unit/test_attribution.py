"""Owner changes and `--by rep` (docs/clock-rules.md): a reassignment never touches a clock; a
clock counts for the owner of the moment it stopped (met) or breached (its due instant), a
clock still running on time for the current owner, a lead never reassigned as ever.

The template in UTC, Mon–Fri 09:00–17:00, first-touch within 4 h; as_of Wed 2018-03-07 12:00.
"""

import numpy as np
import pandas as pd

from core import dashboard
from core.compliance import OwnerHistory, evaluate, lead_clocks, report
from core.periods import InForce
from tests.unit.test_compliance import AS_OF, MARCH, by_id, document, lead_frame, t, touch_frame

# L1: MQL Mon 05 10:00 (due 14:00), owned by ann until 15:00, then bob; bob's touch Tue 10:00
#     stops it late → ann's breach (it breached at 14:00, under ann).
# L2: MQL Mon 10:00, ann → bob at 11:00, bob's touch at 12:00 → bob's met.
# L3: MQL Mon 10:00, never reassigned (ann), touched at 11:00 → ann's met.
# L4: MQL Mon 10:00, never touched, bob → cid Tue 06 09:00 → overdue since Mon 14:00 → bob's.
# L5: MQL Wed 07 10:00 (due 14:00, running at 12:00), ann → dan at 11:00 → dan's pending.
# L6: MQL Mon 10:00, ann → bob at 11:00, bob → cid at 13:00, touched Tue → cid's breach.
LEADS = [
    {"mql_at": "2018-03-05 10:00", "owner": "bob"},
    {"mql_at": "2018-03-05 10:00", "owner": "bob"},
    {"mql_at": "2018-03-05 10:00", "owner": "ann"},
    {"mql_at": "2018-03-05 10:00", "owner": "cid"},
    {"mql_at": "2018-03-07 10:00", "owner": "dan"},
    {"mql_at": "2018-03-05 10:00", "owner": "cid"},
]
TOUCHES = [(1, "2018-03-06 10:00", False), (2, "2018-03-05 12:00", False),
           (3, "2018-03-05 11:00", False), (6, "2018-03-06 10:00", False)]
CHANGES = [(1, "2018-03-05 15:00", "ann", "bob"), (2, "2018-03-05 11:00", "ann", "bob"),
           (4, "2018-03-06 09:00", "bob", "cid"), (5, "2018-03-07 11:00", "ann", "dan"),
           (6, "2018-03-05 13:00", "bob", "cid"), (6, "2018-03-05 11:00", "ann", "bob")]


def change_frame(rows: list[tuple]) -> pd.DataFrame:
    """Owner changes from (lead_id, at, from_owner, to_owner) tuples."""
    return pd.DataFrame({
        "lead_id": pd.Series([row[0] for row in rows], dtype="int64"),
        "at": pd.to_datetime([t(row[1]) for row in rows], utc=True),
        "from_owner": pd.Series([row[2] for row in rows], dtype=object),
        "to_owner": pd.Series([row[3] for row in rows], dtype=object),
    })


def first_touch_by_rep(result: dict) -> dict[str, tuple[int, int, int, int]]:
    """Per rep: first-touch (met, breached, overdue, pending)."""
    rows = {}
    for row in result["breakdown"]:
        item = by_id(row["commitments"])["first-touch"]
        rows[row["rep"]] = (item["met"], item["breached"], item["overdue"], item["pending"])
    return rows


def test_a_clock_counts_for_the_owner_when_it_stopped_or_breached():
    result = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                    by="rep", owner_changes=change_frame(CHANGES))
    assert first_touch_by_rep(result) == {
        "ann": (1, 1, 0, 0),  # L3 met (never reassigned), L1 breached under ann
        "bob": (1, 1, 1, 0),  # L2 met after the reassignment, L4 overdue since bob's time
        "cid": (0, 1, 0, 0),  # L6: due 14:00, after the second reassignment
        "dan": (0, 0, 0, 1),  # L5 still running on time: the current owner's
    }
    # The clocks themselves and the totals do not move.
    plain = report(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF)
    assert result["commitments"] == plain["commitments"]
    # Volume and acceptance stay with the current owner: ann owns one lead now.
    groups = {row["rep"]: by_id(row["commitments"]) for row in result["breakdown"]}
    assert groups["ann"]["mql-volume"]["actual"] == 1
    assert groups["bob"]["mql-volume"]["actual"] == 2 and groups["dan"]["mql-volume"]["actual"] == 1


def test_without_a_history_by_rep_counts_the_current_owner_as_before():
    leads, touches = lead_frame(LEADS), touch_frame(TOUCHES)
    plain = report(document(), leads, touches, MARCH, AS_OF, by="rep")
    assert first_touch_by_rep(plain) == {"ann": (1, 0, 0, 0), "bob": (1, 1, 0, 0),
                                         "cid": (0, 2, 1, 0), "dan": (0, 0, 0, 1)}
    others = change_frame([(99, "2018-03-05 11:00", "ann", "bob")])  # not a lead measured here
    for owner_changes in (None, change_frame([]), others):
        measured = evaluate(document(), leads, touches, MARCH, AS_OF,
                            owner_changes=owner_changes)
        assert measured.owner_history is None
        assert measured.report("rep") == plain


def test_an_owner_change_before_the_first_one_and_at_the_instant():
    leads = lead_frame([{"mql_at": "2018-03-05 10:00", "owner": "cid"}] * 4)
    history = OwnerHistory.of(leads, change_frame([
        (2, "2018-03-05 12:00", "bob", "cid"), (1, "2018-03-05 11:00", "ann", "bob"),
        (1, "2018-03-05 12:00", "bob", "cid"), (3, "2018-03-05 12:00", None, "cid")]))
    positions = np.array([0, 0, 0, 0, 1, 1, 2])
    instants = np.array([t(text).value for text in (
        "2018-03-05 10:00", "2018-03-05 11:00", "2018-03-05 11:30", "2018-03-05 12:00",
        "2018-03-05 11:59", "2018-03-06 09:00", "2018-03-05 09:00")])
    assert history.owners_at(positions, instants).tolist() == [
        "ann", "bob", "bob", "cid", "bob", "cid", None]
    assert history.has_history.tolist() == [True, True, True, False]


def test_the_heatmap_and_the_reps_own_figures_follow_the_attribution():
    measured = evaluate(document(), lead_frame(LEADS), touch_frame(TOUCHES), MARCH, AS_OF,
                        owner_changes=change_frame(CHANGES))
    assert measured.clock_owners("first-touch").tolist() == [
        "ann", "bob", "ann", "bob", "dan", "cid"]
    heatmap = dashboard.rep_week_heatmap(measured, "first-touch")
    assert dict(zip(heatmap["rep"], zip(heatmap["met"], heatmap["breached"], strict=True),
                    strict=True)) == {"ann": (1, 1), "bob": (1, 1), "cid": (0, 1)}
    mine = dashboard.rep_versus_team(measured, "ann").set_index("commitment")
    assert mine.loc["first-touch", "mine_clocks"] == 2
    assert mine.loc["first-touch", "mine_pct"] == 50.0
    behind = dashboard.leads_behind(measured, "heatmap", {
        "commitment": "first-touch", "rep": "ann",
        "week": heatmap["week"].iloc[0]}, details=lambda ids, columns: pd.DataFrame(
            {name: [None] * len(ids) for name in columns}, index=ids))
    assert sorted(behind["external_id"]) == ["L1", "L3"]


def test_one_leads_clocks_name_the_owner_and_the_attempts():
    versions = [InForce(1, document())]
    leads, touches = lead_frame(LEADS), touch_frame(TOUCHES)
    clocks = lead_clocks(leads[leads["id"] == 1], touches[touches["lead_id"] == 1], AS_OF,
                         versions, owner_changes=change_frame(CHANGES))
    assert clocks["commitment"].tolist() == ["first-touch", "accept-or-reject", "attempts"]
    first = clocks.iloc[0]
    assert (first["state"], first["owner"], first["version"]) == ("breached", "ann", 1)
    assert first["start"] == t("2018-03-05 10:00") and first["due"] == t("2018-03-05 14:00")
    assert first["stopped_at"] == t("2018-03-06 10:00")
    assert first["elapsed_seconds"] == 8 * 3600 and first["business_seconds_left"] == -4 * 3600
    assert pd.isna(first["attempts_done"]) and pd.isna(first["attempts_required"])
    attempts = clocks.iloc[2]
    assert (attempts["attempts_done"], attempts["attempts_required"]) == (1, 3)
    assert attempts["owner"] == "bob"  # running on time: the current owner's
    assert str(clocks["attempts_done"].dtype) == "Int64"
    assert lead_clocks(leads[leads["id"] == 1], touches, t("2018-03-05 09:00"), versions).empty
