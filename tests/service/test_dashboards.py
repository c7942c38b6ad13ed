"""The worklist and dashboard services on a real database (DESIGN §4 states at a fixed as_of)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from core import agreement as sla
from core.permissions import PermissionDenied
from core.services import measurement
from db.models import Lead, Touch
from tests.sla_helpers import activate

HOUR = 3600
AS_OF = "2026-03-04T17:30:00Z"  # Wed 12:30 in New York; the template works 09:00–17:00
TUESDAY_9 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
WEDNESDAY_9 = TUESDAY_9 + timedelta(days=1)


@pytest.fixture
def worklist_world(session, people):
    activate(session, people, sla.template(title="SLA", start=date(2026, 1, 1),
                                           end=date(2027, 1, 1)))
    leads = {
        "overdue": Lead(owner="ana", mql_at=TUESDAY_9),
        "at-risk": Lead(owner="ana", mql_at=WEDNESDAY_9),
        "pending": Lead(owner="ana", mql_at=WEDNESDAY_9 + timedelta(hours=2)),
        "touched": Lead(owner="ana", mql_at=WEDNESDAY_9, accepted_at=WEDNESDAY_9),
        "rejected": Lead(owner="ana", mql_at=WEDNESDAY_9, rejected_at=WEDNESDAY_9,
                         rejection_reason="not_a_fit"),
        "bens": Lead(owner="ben", mql_at=WEDNESDAY_9),
    }
    for external_id, lead in leads.items():
        lead.source, lead.external_id, lead.created_at = "crm", external_id, lead.mql_at
    session.add_all(leads.values())
    session.flush()
    session.add(Touch(lead_id=leads["touched"].id, at=WEDNESDAY_9 + timedelta(minutes=30),
                      kind="call", rep="ana"))
    session.flush()


def test_the_worklist_orders_by_business_time_left_with_design_states(session, people,
                                                                       worklist_world):
    rows = measurement.worklist(session=session, actor=people["ana"], as_of=AS_OF)
    assert rows["external_id"].tolist() == ["overdue", "at-risk", "pending", "touched"]
    assert rows["state"].tolist() == ["overdue", "at_risk", "pending", "pending"]
    assert rows["commitment"].tolist() == ["first-touch"] * 3 + ["attempts"]
    # overdue: 8 h on Tuesday + 3.5 h on Wednesday against 4 h; at-risk: 0.5 h left, under the
    # 1-hour floor; pending: 2.5 h left; touched: only 3 attempts in 5 days remain (40 h).
    assert rows["business_seconds_left"].tolist() == [-7.5 * HOUR, 0.5 * HOUR, 2.5 * HOUR,
                                                      36.5 * HOUR]
    assert rows["calendar_seconds_left"].iloc[0] == -23.5 * HOUR  # due Tue 13:00 NY
    assert set(rows["owner"]) == {"ana"}


def test_the_head_of_sales_sees_every_reps_worklist(session, people, worklist_world):
    rows = measurement.worklist(session=session, actor=people["sofia"], as_of=AS_OF)
    assert set(rows["owner"]) == {"ana", "ben"}


@pytest.mark.parametrize("role", ["marco", "erin", "mia", "root"])
def test_only_sales_has_a_worklist(session, people, worklist_world, role):
    with pytest.raises(PermissionDenied):
        measurement.worklist(session=session, actor=people[role], as_of=AS_OF)


def test_filters_narrow_the_measured_leads(session, people, worklist_world):
    scope = measurement.scope(session=session, actor=people["ana"], period="2026-03",
                                 as_of=AS_OF)
    everyone = measurement.measure(session=session, actor=people["ana"], scope=scope).report()
    bens = measurement.measure(session=session, actor=people["ana"], scope=scope,
                               filters=measurement.Filters.of(rep="ben")).report()
    assert everyone["funnel"]["mql"] == 6 and bens["funnel"]["mql"] == 1
    with pytest.raises(Exception, match="cannot filter by colour"):
        measurement.Filters.of(colour="red")


def test_the_data_version_moves_with_every_committed_change(session, people, worklist_world):
    session.commit()
    before = measurement.data_version(session=session)
    session.add(Touch(lead_id=1, at=WEDNESDAY_9, kind="email", rep="ana"))
    session.commit()
    assert measurement.data_version(session=session) != before
