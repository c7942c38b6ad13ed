"""Owner changes and `report --by rep` on a real database (docs/clock-rules.md): a clock that
breached under ana and was stopped later by ben counts as ana's breach; one ben stopped on time
after the reassignment is ben's; a lead never reassigned counts for its owner. The history
reaches the report through read_rows, and a cached window follows a reassignment.

The template in UTC, Mon–Fri 09:00–17:00, first-touch within 4 h; Mon 2026-03-02.
"""

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from core import agreement as sla
from core.services import measurement
from db.models import Lead, LeadOwnerChange, Touch
from tests.service.test_cli import cli
from tests.sla_helpers import activate

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # first touch due at 14:00
AS_OF = "2026-04-15T00:00:00Z"


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def seed(session, people) -> dict[str, int]:
    """Three MQLs of Monday 10:00, all touched, none reassigned yet: `late` (ana's, touched by
    ben on Tuesday), `on_time` (ana's, touched by ben at 12:00), `steady` (ana's, 11:00)."""
    activate(session, people, sla.template(title="UTC SLA", start=date(2026, 1, 1),
                                           end=date(2099, 1, 1), timezone="UTC"))
    leads = {name: Lead(source="crm", external_id=name, created_at=MONDAY, mql_at=MONDAY,
                        owner="ana", channel="events") for name in ("late", "on_time", "steady")}
    session.add_all(leads.values())
    session.flush()
    session.add_all([Touch(lead_id=leads["late"].id, at=at(3, 10), kind="call", rep="ben"),
                     Touch(lead_id=leads["on_time"].id, at=at(2, 12), kind="call", rep="ben"),
                     Touch(lead_id=leads["steady"].id, at=at(2, 11), kind="call", rep="ana")])
    session.flush()
    return {name: lead.id for name, lead in leads.items()}


def reassign(session, lead_id: int, when: datetime, to_owner: str = "ben") -> None:
    """What a reassignment writes: the lead's new owner (which stamps it) and a history row."""
    lead = session.get(Lead, lead_id)
    session.add(LeadOwnerChange(lead_id=lead_id, at=when, from_owner=lead.owner,
                                to_owner=to_owner, changed_by="sofia", reason="holiday cover"))
    lead.owner = to_owner
    session.add(lead)
    session.flush()


def first_touch_by_rep(result: dict) -> dict[str, tuple[int, int]]:
    """Per rep: first-touch (met, breached)."""
    rows = {}
    for row in result["breakdown"]:
        item = next(c for c in row["commitments"] if c["id"] == "first-touch")
        rows[row["rep"]] = (item["met"], item["breached"])
    return rows


@pytest.fixture
def world(concurrent_engine, people_factory):
    with Session(concurrent_engine, expire_on_commit=False) as session:
        people = people_factory(session)
        ids = seed(session, people)
        session.commit()
    return concurrent_engine, people, ids


def test_report_by_rep_counts_a_breach_for_the_owner_it_breached_under(world):
    engine, people, ids = world
    url = engine.url.render_as_string(hide_password=False)
    args = ["report", "--period", "2026-03", "--as-of", AS_OF, "--by", "rep"]
    before = cli(url, *args)
    assert before.returncode == 0, before.stderr
    assert first_touch_by_rep(json.loads(before.stdout)) == {"ana": (2, 1)}
    with Session(engine) as session:
        reassign(session, ids["late"], at(2, 15))  # after its due time (14:00)
        reassign(session, ids["on_time"], at(2, 11))  # before ben's touch at 12:00
        session.commit()
    after = cli(url, *args)
    assert after.returncode == 0, after.stderr
    result = json.loads(after.stdout)
    # late: breached at 14:00 under ana, stopped by ben on Tuesday → ana's breach;
    # on_time: stopped by ben at 12:00 → ben's; steady, never reassigned → ana's.
    assert first_touch_by_rep(result) == {"ana": (1, 1), "ben": (1, 0)}
    by_rep = {row["rep"]: row["commitments"] for row in result["breakdown"]}
    volume = {rep: next(c for c in items if c["id"] == "mql-volume")["actual"]
              for rep, items in by_rep.items()}
    assert volume == {"ana": 1, "ben": 2}  # the leads they own now
    # The totals and the JSON shape are those of a report without a history.
    plain = json.loads(before.stdout)
    assert result["commitments"] == plain["commitments"]
    assert set(result) == set(plain)
    assert [set(row) for row in result["breakdown"]] == [{"rep", "commitments"}] * 2
    assert [list(item) for item in by_rep["ben"]] == [
        list(item) for item in plain["breakdown"][0]["commitments"]]


def test_a_cached_window_follows_a_reassignment(world):
    engine, people, ids = world
    cache = measurement.RowCache()
    head = people["sofia"]
    with Session(engine) as session:
        scope = measurement.scope(session=session, actor=head, period="2026-03", as_of=AS_OF)
        rows = cache.rows(session, scope.period)
        assert rows.owner_changes is None  # no lead was ever reassigned: nothing read
        assert first_touch_by_rep(measurement.evaluate(scope, rows).report("rep")) == {
            "ana": (2, 1)}
    with Session(engine) as session:
        reassign(session, ids["late"], at(2, 15))
        session.commit()
    with Session(engine) as session:
        warm = cache.rows(session, scope.period)
        assert len(warm.owner_changes) == 1
        # Breached under ana, still hers; ben owns the lead now, with no clock of his.
        assert first_touch_by_rep(measurement.evaluate(scope, warm).report("rep")) == {
            "ana": (2, 1), "ben": (0, 0)}
        reassign(session, ids["on_time"], at(2, 11))
        reassign(session, ids["on_time"], at(2, 11).replace(minute=30), to_owner="ana")
        reassign(session, ids["on_time"], at(2, 11).replace(minute=45))
        session.commit()
    with Session(engine) as session:
        warm = cache.rows(session, scope.period)
        cold = measurement.read_rows(session, scope.period)
        assert len(warm.owner_changes) == len(cold.owner_changes) == 4
        warm_report = measurement.evaluate(scope, warm).report("rep")
        assert warm_report == measurement.evaluate(scope, cold).report("rep")
        assert first_touch_by_rep(warm_report) == {"ana": (1, 1), "ben": (1, 0)}
        # A rep's own rows hold the history of their leads only.
        assert measurement.read_rows(session, scope.period, "ana").owner_changes is None
        bens = measurement.read_rows(session, scope.period, "ben")
        assert set(bens.owner_changes["lead_id"]) == {ids["late"], ids["on_time"]}
        stored = session.exec(select(LeadOwnerChange)).all()
        assert len(stored) == 4
