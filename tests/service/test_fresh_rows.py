"""A cached period stays fresh without going cold: another process imports into it, and the next
read fetches only what changed (db.changes), with the figures a cold read gives."""

import pandas as pd
import pytest
from sqlmodel import Session

from core.services import measurement
from db.bulk import insert_frame
from db.models import Lead, Touch
from tests.service.test_cli import cli
from tests.sla_helpers import activate, around_the_clock

STORED, NEW, CHANGED = 2_000, 1_000, 10
MARCH = pd.Timestamp("2026-03-02 09:00", tz="UTC")
AS_OF = "2026-04-01T00:00:00Z"


@pytest.fixture
def world(concurrent_engine, people_factory):
    """A signed always-open agreement, 2,000 MQLs of March 2026 with one call each."""
    with Session(concurrent_engine, expire_on_commit=False) as session:
        people = people_factory(session)
        activate(session, people, around_the_clock())
        mql = MARCH + pd.to_timedelta(range(STORED), unit="min")
        insert_frame(session, Lead.__table__, pd.DataFrame({
            "source": "crm", "external_id": [f"L{i}" for i in range(STORED)],
            "created_at": mql, "mql_at": mql, "owner": ["ana", "ben"] * (STORED // 2),
            "channel": "paid_search", "recycled": False, "attributes": [{}] * STORED}))
        insert_frame(session, Touch.__table__, pd.DataFrame({
            "lead_id": range(1, STORED + 1), "at": mql + pd.Timedelta(minutes=30),
            "kind": "call", "rep": "ana", "automated": False}))
        session.commit()
    return concurrent_engine, people


def import_file(tmp_path) -> str:
    """1,000 new March MQLs, and 10 stored ones now accepted."""
    new = pd.DataFrame({"external_id": [f"N{i}" for i in range(NEW)],
                        "mql_at": (MARCH + pd.to_timedelta(range(NEW), unit="min"))
                        .strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "owner": "ana", "channel": "events", "accepted_at": ""})
    changed = pd.DataFrame({"external_id": [f"L{i}" for i in range(CHANGED)],
                            "mql_at": (MARCH + pd.to_timedelta(range(CHANGED), unit="min"))
                            .strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "owner": ["ana", "ben"] * (CHANGED // 2), "channel": "paid_search",
                            "accepted_at": (MARCH + pd.Timedelta(hours=2))
                            .strftime("%Y-%m-%dT%H:%M:%SZ")})
    path = tmp_path / "more.csv"
    pd.concat([new, changed]).to_csv(path, index=False)
    return str(path)


def test_an_import_by_another_process_refreshes_only_what_it_changed(world, tmp_path):
    engine, people = world
    cache = measurement.RowCache()
    with Session(engine) as session:
        scope = measurement.scope(session=session, actor=people["sofia"], period="2026-03",
                                  as_of=AS_OF)
        cold = cache.rows(session, scope.period)
        before = measurement.evaluate(scope, cold).report()
    assert cold.fetched == STORED * 2  # the leads and their touches
    assert before["funnel"]["mql"] == STORED

    url = engine.url.render_as_string(hide_password=False)
    result = cli(url, "import", "leads", import_file(tmp_path), "--source", "crm",
                 "--format", "json")
    assert result.returncode == 0, result.stderr

    with Session(engine) as session:
        warm = cache.rows(session, scope.period)
        fresh = measurement.read_rows(session, scope.period)
    # Only the 1,010 leads the import wrote, and the touches of the 10 it changed, were read.
    assert warm.fetched == NEW + CHANGED + CHANGED
    assert warm.revision == cold.revision + 1
    after = measurement.evaluate(scope, warm).report()
    assert after == measurement.evaluate(scope, fresh).report()
    assert after["funnel"]["mql"] == STORED + NEW
    assert after["funnel"]["sal"] == before["funnel"]["sal"] + CHANGED

    with Session(engine) as session:  # nothing changed since: nothing is read
        again = cache.rows(session, scope.period)
    assert (again.fetched, again.revision) == (0, warm.revision)


def test_a_window_inside_one_read_is_taken_from_it(world):
    engine, people = world
    cache = measurement.RowCache()
    with Session(engine) as session:
        march = measurement.scope(session=session, actor=people["sofia"], period="2026-03",
                                  as_of=AS_OF)
        first_days = measurement.scope(session=session, actor=people["sofia"],
                                       period="2026-03-02:2026-03-03", as_of=AS_OF)
        wide = cache.rows(session, first_days.period, widen_to=march.period)
        assert wide.fetched == 0  # narrowed from the month, which was read once
        again = cache.rows(session, march.period)
        direct = measurement.read_rows(session, first_days.period)
    assert again.fetched == 0  # held already: refreshed, nothing read
    assert measurement.evaluate(first_days, wide).report() == \
        measurement.evaluate(first_days, direct).report()
    assert 0 < len(wide.leads) < len(again.leads)


def test_a_change_keeps_the_rows_of_a_window_it_did_not_reach(world, tmp_path):
    """The page reads a period with the one before; an import into one leaves the other's rows
    (and so its cached measure) as they were, and a write outside both changes neither."""
    engine, people = world
    cache = measurement.RowCache()
    march = measurement.Period(pd.Timestamp("2026-03-01", tz="UTC"),
                               pd.Timestamp("2026-04-01", tz="UTC"))
    # the import's leads are all before 2026-03-03 06:00, the stored ones run on to 18:19
    split = pd.Timestamp("2026-03-03 06:00", tz="UTC")
    first_day, later = measurement.Period(march.start, split), measurement.Period(split, march.end)
    with Session(engine) as session:
        held_first = cache.rows(session, first_day, widen_to=march)
        held_later = cache.rows(session, later, widen_to=march)
    assert 0 < len(held_first.leads) < STORED and len(held_later.leads) > 0

    url = engine.url.render_as_string(hide_password=False)
    result = cli(url, "import", "leads", import_file(tmp_path), "--source", "crm",
                 "--format", "json")  # new and changed leads before the split only
    assert result.returncode == 0, result.stderr
    with Session(engine) as session:
        first_after = cache.rows(session, first_day, widen_to=march)
        later_after = cache.rows(session, later, widen_to=march)
        whole_after = cache.rows(session, march)
        fresh_later = measurement.read_rows(session, later)
        fresh_first = measurement.read_rows(session, first_day)
    assert first_after.content != held_first.content
    assert len(first_after.leads) == len(fresh_first.leads) == len(held_first.leads) + NEW
    assert later_after is held_later  # the import did not reach it: the same rows, same key
    assert later_after.leads["id"].tolist() == sorted(fresh_later.leads["id"].tolist())

    with Session(engine) as session:  # a lead of May: every March window stays as it was
        may = pd.Timestamp("2026-05-04 09:00", tz="UTC")
        insert_frame(session, Lead.__table__, pd.DataFrame({
            "source": "crm", "external_id": ["MAY"], "created_at": [may], "mql_at": [may],
            "owner": ["ana"], "channel": ["events"], "recycled": [False],
            "attributes": [{}]}))
        session.commit()
    with Session(engine) as session:
        whole = cache.rows(session, march)
        assert cache.rows(session, later, widen_to=march) is held_later
        assert cache.rows(session, first_day, widen_to=march) is first_after
    assert whole.position != whole_after.position  # the May lead was seen, and left out
    assert whole.content == whole_after.content


def test_a_teams_worklists_do_not_push_its_periods_out(world):
    """One owner's windows (each rep's worklist) are held apart from everyone's (the periods the
    dashboards read): forty reps opening their worklist keep the month's rows warm."""
    engine, people = world
    cache = measurement.RowCache(size=1, owned_size=2)
    with Session(engine) as session:
        month = measurement.scope(session=session, actor=people["sofia"], period="2026-03",
                                  as_of=AS_OF).period
        held = cache.rows(session, month)
        for owner in ("ana", "ben", "chloe"):
            cache.rows(session, month, owner=owner)
        again = cache.rows(session, month)
        assert (again.content, again.fetched) == (held.content, 0)  # refreshed, not read again
        assert [key[2] for key in cache._entries] == ["ben", "chloe", None]
