"""The worklist's attempts: how many touches an open attempts clock has counted so far, and how
many it needs ("1 of 3 attempts" on the rep's card). On the hand-computed fixture of
test_compliance: Mon–Fri 09:00–17:00 UTC, March 2018, as of Wed 07 12:00, three attempts
within 5d."""

import pandas as pd

from core import dashboard
from core.compliance import evaluate
from tests.unit.test_compliance import AS_OF, LEADS, MARCH, TOUCHES, document, lead_frame
from tests.unit.test_compliance import touch_frame as touches_of


def test_the_worklist_counts_the_attempts_of_an_open_attempts_clock():
    rows = dashboard.worklist(evaluate(document(), lead_frame(LEADS), touches_of(TOUCHES),
                                       MARCH, AS_OF))
    # L3: first touch overdue, its most urgent clock; its attempts clock is open too, with no
    # touch yet. L2: its attempts clock is open with one call, Tue 10:00, of the three.
    assert rows["external_id"].tolist() == ["L3", "L2"]
    assert rows["commitment"].tolist() == ["first-touch", "attempts"]
    assert str(rows["attempts_done"].dtype) == str(rows["attempts_required"].dtype) == "Int64"
    assert (rows["attempts_done"].iloc[0], rows["attempts_required"].iloc[0]) == (0, 3)
    assert (rows["attempts_done"].iloc[1], rows["attempts_required"].iloc[1]) == (1, 3)
    # Both attempts clocks started Mon 5 (L3 at 09:00 and L2 at 10:00 or so): 5 business days
    # of 8 h less what has elapsed; L2's is its own most urgent clock, so the two agree there
    assert rows["attempts_seconds_left"].iloc[1] == rows["business_seconds_left"].iloc[1]
    assert rows["attempts_seconds_left"].iloc[0] > 0
    assert rows["attempts_commitment"].tolist() == ["attempts", "attempts"]


def test_automated_touches_touches_before_the_start_and_after_as_of_do_not_count():
    leads = lead_frame([{"mql_at": "2018-03-05 10:00", "owner": "ann",
                         "accepted_at": "2018-03-05 10:30"}])
    touches = touches_of([(1, "2018-03-05 09:00", False),  # before the MQL
                          (1, "2018-03-05 11:00", False), (1, "2018-03-05 11:00", False),
                          (1, "2018-03-06 10:00", True),  # automated
                          (1, "2018-03-07 13:00", False)])  # after as_of
    rows = dashboard.worklist(evaluate(document(), leads, touches, MARCH, AS_OF))
    # Two calls at one instant count as two; the first touch was met, so attempts is open.
    assert rows["commitment"].tolist() == ["attempts"]
    assert rows["accepted"].tolist() == [True]  # the card offers no second Accept
    assert (rows["attempts_done"].iloc[0], rows["attempts_required"].iloc[0]) == (2, 3)


def test_an_empty_worklist_has_the_attempt_columns():
    before = pd.Timestamp("2018-03-01 08:00", tz="UTC")  # no clock of March has started
    rows = dashboard.worklist(evaluate(document(), lead_frame(LEADS), touches_of(TOUCHES), MARCH,
                                       before))
    assert rows.empty
    assert {"attempts_done", "attempts_required", "attempts_seconds_left"} <= set(rows.columns)
    assert str(rows["attempts_done"].dtype) == "Int64"
