"""The columnar read path (db.columnar) gives the frame the session path gives, on SQLite files
and PostgreSQL, and a session sees its own uncommitted writes."""

import pandas as pd
import pytest
from sqlalchemy import select
from sqlmodel import Session

from core.periods import Period
from core.services import measurement
from db import columnar
from db.bulk import insert_frame
from db.models import Lead, Touch

LEADS = 1_500  # past the 1,024 rows a reader might guess a column's type from
UTC = "UTC"


def stored_leads() -> pd.DataFrame:
    """Leads whose optional columns are NULL for the first 1,200 rows and set after (the trap
    of readers that type a column from its first rows), with odd text and JSON."""
    index = pd.RangeIndex(LEADS)
    late = index >= 1_200
    mql = pd.Timestamp("2025-03-01 09:00", tz=UTC) + pd.to_timedelta(index * 7, unit="min")
    return pd.DataFrame({
        "source": "crm", "external_id": [f"L{i}" for i in index],
        "created_at": mql - pd.Timedelta(hours=1), "mql_at": mql,
        "accepted_at": pd.Series(mql + pd.Timedelta(minutes=90)).where(late, pd.NaT),
        "rejected_at": pd.NaT, "rejection_reason": pd.Series("not_a_fit", index=index).where(
            late, None),
        "owner": [f"rep{i % 7}" for i in index], "channel": "paid_search",
        "company": pd.Series("Zoë & Söhne, \"GmbH\"", index=index).where(late, None),
        "score": pd.Series(index * 0.5).where(late, None),
        "amount": pd.Series(1234.5, index=index).where(late, None),
        "recycled": late, "attributes": [{"plan": "pro", "seats": i} if i % 3 == 0 else {}
                                         for i in index],
    })


@pytest.fixture
def stored(concurrent_engine):
    with Session(concurrent_engine) as session:
        insert_frame(session, Lead.__table__, stored_leads())
        touches = pd.DataFrame({"lead_id": range(1, LEADS + 1, 2), "kind": "call",
                                "rep": "rep1", "automated": False,
                                "at": pd.Timestamp("2025-03-02 10:00", tz=UTC)})
        insert_frame(session, Touch.__table__, touches)
        session.commit()
    return concurrent_engine


def lead_statement():
    table = Lead.__table__
    return select(*(table.c[name] for name in measurement.LEAD_COLUMNS)).order_by(table.c.id)


def test_both_paths_read_the_same_typed_frame(stored):
    with Session(stored) as session:
        assert columnar.connectorx_url(session) is not None
        fast = columnar.read_frame(session, lead_statement(), columnar=True)
        slow = columnar.read_frame(session, lead_statement(), columnar=False)
    pd.testing.assert_frame_equal(fast, slow)
    assert len(fast) == LEADS
    assert str(fast["mql_at"].dtype) == "datetime64[ns, UTC]"
    assert fast["accepted_at"].isna().sum() == 1_200
    assert fast.loc[1_499, "company"] == "Zoë & Söhne, \"GmbH\""
    assert fast.loc[0, "company"] is None and fast.loc[0, "rejection_reason"] is None
    assert fast.loc[1_499, "score"] == 749.5 and pd.isna(fast.loc[0, "amount"])
    assert fast["recycled"].dtype == bool and fast["recycled"].sum() == 300
    assert fast.loc[3, "attributes"] == {"plan": "pro", "seats": 3}
    assert fast.loc[1, "attributes"] == {}


def test_the_rows_of_a_window_are_the_same_either_way(stored, monkeypatch):
    window = Period(pd.Timestamp("2025-03-01", tz=UTC),
                                pd.Timestamp("2025-03-05", tz=UTC))
    with Session(stored) as session:
        fast = measurement.read_rows(session, window)
        monkeypatch.setattr(columnar, "connectorx_url", lambda _session: None)
        slow = measurement.read_rows(session, window)
    for name in ("leads", "touches"):
        key = ["id"]
        pd.testing.assert_frame_equal(getattr(fast, name).sort_values(key, ignore_index=True),
                                      getattr(slow, name).sort_values(key, ignore_index=True))
    leads = stored_leads()
    inside = pd.Series(False, index=leads.index)
    for name in ("created_at", "mql_at", "accepted_at"):
        stamps = pd.to_datetime(leads[name], utc=True)
        inside |= (stamps >= window.start) & (stamps < window.end)
    assert len(fast.leads) == inside.sum() > 0
    assert len(fast.touches) > 0


def test_a_session_reads_its_own_uncommitted_leads(stored):
    with Session(stored) as session:
        before = len(columnar.read_frame(session, lead_statement()))
        session.add(Lead(source="crm", external_id="new", created_at=pd.Timestamp(
            "2025-03-01", tz=UTC).to_pydatetime(), attributes={}))
        session.flush()
        assert len(columnar.read_frame(session, lead_statement())) == before + 1
        session.rollback()
