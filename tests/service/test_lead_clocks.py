"""One lead's clocks for the lead page (measurement.lead_clocks), on SQLite and PostgreSQL: each
clock against the version in force at its own start, the rep it counts for, its attempts; a
rep sees only their own leads; only that lead is read.

Version 1: the template in UTC, Mon–Fri 09:00–17:00, first-touch 4h, accept-or-reject 24h,
three attempts within 5d, from 2026-01-01. Version 2, from Wed 2026-03-04: first-touch 2h.
"""

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import event

from core import agreement as sla
from core.errors import NotFound
from core.permissions import PermissionDenied
from core.services import measurement
from core.services.leads import NotYourLead
from db.models import Lead, LeadOwnerChange, Touch
from tests.service.test_reports import amended
from tests.sla_helpers import activate

COLUMNS = ["commitment", "state", "start", "due", "stopped_at", "business_seconds_left",
           "elapsed_seconds", "version", "owner", "attempts_done", "attempts_required"]
HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def stamp(day: int, hour: int, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(at(day, hour, minute))


@pytest.fixture
def world(session, people) -> dict[str, int]:
    """`tuesday` (MQL Tue 3 10:00, ana's until Tue 15:00, then ben's; first touched by ben Wed
    10:00, accepted Tue 11:00), `wednesday` (MQL Wed 4 10:00, ana's, touched 11:00 and Thu
    10:00, an automated email at 11:15), `old` (MQL before version 1), and 200 other leads."""
    original = sla.template(title="UTC SLA", start=date(2026, 1, 1), end=date(2099, 1, 1),
                            timezone="UTC")
    first = activate(session, people, original)
    activate(session, people, amended(original, date(2026, 3, 4), "2h"), first.agreement_id)
    leads = {
        "tuesday": Lead(source="crm", external_id="tuesday", created_at=at(3, 10),
                        mql_at=at(3, 10), accepted_at=at(3, 11), owner="ben"),
        "wednesday": Lead(source="crm", external_id="wednesday", created_at=at(4, 10),
                          mql_at=at(4, 10), owner="ana"),
        "old": Lead(source="crm", external_id="old", owner="ana",
                    created_at=datetime(2025, 12, 15, 10, tzinfo=UTC),
                    mql_at=datetime(2025, 12, 15, 10, tzinfo=UTC)),
    }
    others = [Lead(source="crm", external_id=f"other-{i}", created_at=at(5, 10),
                   mql_at=at(5, 10), owner="ana") for i in range(200)]
    session.add_all([*leads.values(), *others])
    session.flush()
    session.add_all([
        Touch(lead_id=leads["tuesday"].id, at=at(4, 10), kind="call", rep="ben"),
        Touch(lead_id=leads["wednesday"].id, at=at(4, 11), kind="call", rep="ana"),
        Touch(lead_id=leads["wednesday"].id, at=at(4, 11, 15), kind="email", rep="ana",
              automated=True),
        Touch(lead_id=leads["wednesday"].id, at=at(5, 10), kind="call", rep="ana"),
        *(Touch(lead_id=lead.id, at=at(5, 11), kind="call", rep="ana") for lead in others),
        LeadOwnerChange(lead_id=leads["tuesday"].id, at=at(3, 15), from_owner="ana",
                        to_owner="ben", changed_by="sofia", reason="cover"),
    ])
    session.flush()
    return {name: lead.id for name, lead in leads.items()}


def test_every_clock_of_a_lead_against_the_version_in_force_at_its_start(session, people,
                                                                          world):
    clocks = measurement.lead_clocks(session=session, actor=people["sofia"],
                                     lead_id=world["tuesday"], as_of="2026-03-06T12:00:00Z")
    assert list(clocks.columns) == COLUMNS
    rows = clocks.set_index("commitment")
    assert list(rows.index) == ["first-touch", "accept-or-reject", "attempts"]
    first = rows.loc["first-touch"]
    # Started Tuesday under version 1 (4h): due Tue 14:00; ben's call Wed 10:00 came after 8
    # business hours (Tue 10:00–17:00 and Wed 09:00–10:00), 4 h late.
    assert first["version"] == 1 and first["state"] == "breached"
    assert (first["start"], first["due"], first["stopped_at"]) == (
        stamp(3, 10), stamp(3, 14), stamp(4, 10))
    assert first["elapsed_seconds"] == 8 * HOUR and first["business_seconds_left"] == -4 * HOUR
    assert first["owner"] == "ana"  # it breached at 14:00, before the reassignment at 15:00
    assert pd.isna(first["attempts_done"]) and pd.isna(first["attempts_required"])
    accepted = rows.loc["accept-or-reject"]
    assert accepted["state"] == "met" and accepted["elapsed_seconds"] == HOUR
    assert accepted["business_seconds_left"] == 23 * HOUR
    assert accepted["owner"] == "ana"  # stopped at 11:00, under ana
    attempts = rows.loc["attempts"]
    assert attempts["state"] == "pending" and pd.isna(attempts["stopped_at"])
    assert (attempts["attempts_done"], attempts["attempts_required"]) == (1, 3)
    assert attempts["owner"] == "ben"  # running on time: the current owner's
    assert str(clocks["version"].dtype) == "Int64"
    assert str(clocks["start"].dtype) == "datetime64[ns, UTC]"

    later = measurement.lead_clocks(session=session, actor=people["sofia"],
                                    lead_id=world["wednesday"], as_of="2026-03-04T11:30:00Z")
    rows = later.set_index("commitment")
    # From Wednesday version 2 governs: first touch within 2h, due 12:00, met at 11:00.
    assert rows.loc["first-touch", "version"] == 2
    assert rows.loc["first-touch", "due"] == stamp(4, 12)
    assert rows.loc["first-touch", "state"] == "met"
    assert rows.loc["first-touch", "business_seconds_left"] == HOUR
    # Not accepted yet: the accept-or-reject clock runs, with 22.5 business hours left.
    assert rows.loc["accept-or-reject", "state"] == "pending"
    assert rows.loc["accept-or-reject", "business_seconds_left"] == 22 * HOUR + 1800
    assert rows.loc["attempts", "attempts_done"] == 1  # the automated email does not count


def test_a_lead_no_version_covers_or_before_its_start_has_no_clock(session, people, world):
    old = measurement.lead_clocks(session=session, actor=people["sofia"], lead_id=world["old"],
                                  as_of="2026-03-06T12:00:00Z")
    assert old.empty and list(old.columns) == COLUMNS
    early = measurement.lead_clocks(session=session, actor=people["sofia"],
                                    lead_id=world["tuesday"], as_of="2026-03-03T09:00:00Z")
    assert early.empty and list(early.columns) == COLUMNS


def test_as_of_sets_the_state_and_now_is_the_default(session, people, world):
    at_noon = measurement.lead_clocks(session=session, actor=people["sofia"],
                                      lead_id=world["tuesday"], as_of="2026-03-03T13:30:00Z")
    first = at_noon.set_index("commitment").loc["first-touch"]
    assert first["state"] == "at_risk" and first["business_seconds_left"] == 1800
    assert first["owner"] == "ben"  # still running on time: the current owner's
    now = measurement.lead_clocks(session=session, actor=people["sofia"],
                                  lead_id=world["tuesday"])
    assert set(now["state"]) <= {"met", "breached", "overdue"}  # weeks later: all resolved


def test_a_rep_sees_only_their_own_leads(session, people, world):
    mine = measurement.lead_clocks(session=session, actor=people["ben"],
                                   lead_id=world["tuesday"], as_of="2026-03-06T12:00:00Z")
    assert len(mine) == 3
    with pytest.raises(NotYourLead):
        measurement.lead_clocks(session=session, actor=people["ana"], lead_id=world["tuesday"])
    assert issubclass(NotYourLead, PermissionDenied)
    for role in ("marco", "erin", "mia"):  # everyone else may look (VIEW_DASHBOARDS)
        assert len(measurement.lead_clocks(session=session, actor=people[role],
                                           lead_id=world["tuesday"])) == 3
    with pytest.raises(NotFound):
        measurement.lead_clocks(session=session, actor=people["sofia"], lead_id=10**9)


def test_only_that_lead_is_read(session, people, world):
    statements = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.lower())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", remember)
    try:
        clocks = measurement.lead_clocks(session=session, actor=people["sofia"],
                                         lead_id=world["wednesday"],
                                         as_of="2026-03-06T12:00:00Z")
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert len(clocks) == 3
    reads = [s for s in statements if "from leads" in s or "from touches" in s]
    assert reads and all("where" in s for s in reads)  # never a whole table, nor a period
    assert not any("mql_at >=" in s for s in reads)
    assert len(statements) <= 12


def test_before_any_signed_version_the_frame_is_empty(session, people):
    lead = Lead(source="crm", external_id="early", created_at=at(3, 10), mql_at=at(3, 10),
                owner="ana")
    session.add(lead)
    session.flush()
    clocks = measurement.lead_clocks(session=session, actor=people["ana"], lead_id=lead.id)
    assert clocks.empty and list(clocks.columns) == COLUMNS
