"""Rows given as values (the REST API's batches, the connectors' pages) go through the same
checks and upsert as a file: row N is line N, a re-run changes nothing, the batch keeps its
watermark."""

import pytest
from sqlmodel import select

from core.ingest import FileRefused
from core.permissions import PermissionDenied
from core.services.imports import import_lead_rows, import_touch_rows
from db.models import ImportBatch, Lead

LEADS = [
    {"external_id": "c-1", "mql_at": "2026-11-02T09:00:00Z", "owner": "ana", "channel": "webinar",
     "email": "one@example.com", "score": 40, "hs_persona": "founder"},
    {"external_id": "c-2", "mql_at": "2026-11-02T10:00:00+01:00", "owner": None},
    {"external_id": "", "mql_at": "2026-11-02T11:00:00Z"},
    {"external_id": "c-4", "mql_at": "not a date"},
]


def test_rows_import_like_a_file_and_name_each_bad_row_by_its_index(session, people):
    summary = import_lead_rows(session=session, actor=people["root"], rows=LEADS,
                               source="api", name="API batch", watermark="2026-11-02T11:00:00Z")
    assert (summary.read, summary.inserted, summary.rejected) == (4, 2, 2)
    assert [(e.line, e.column) for e in summary.errors] == [(3, "external_id"), (4, "mql_at")]
    lead = session.exec(select(Lead).where(Lead.external_id == "c-1")).one()
    assert (lead.owner, lead.channel, lead.score) == ("ana", "webinar", 40)
    assert lead.attributes == {"hs_persona": "founder"}
    batch = session.get(ImportBatch, summary.batch_id)
    assert (batch.file_name, batch.source, batch.watermark) == ("API batch", "api",
                                                                "2026-11-02T11:00:00Z")
    again = import_lead_rows(session=session, actor=people["root"], rows=LEADS[:2],
                             source="api", name="API batch")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_touch_rows_need_a_known_lead_and_import_once(session, people):
    import_lead_rows(session=session, actor=people["root"], rows=LEADS[:2], source="api",
                     name="leads")
    touches = [{"lead_external_id": "c-1", "at": "2026-11-02T09:30:00Z", "kind": "call",
                "rep": "ana", "automated": False, "outcome": "connected"},
               {"lead_external_id": "nobody", "at": "2026-11-02T09:30:00Z"}]
    summary = import_touch_rows(session=session, actor=people["root"], rows=touches,
                                source="api", name="touches")
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.errors[0].line == 2 and "no lead 'nobody'" in summary.errors[0].reason
    again = import_touch_rows(session=session, actor=people["root"], rows=touches[:1],
                              source="api", name="touches")
    assert (again.inserted, again.unchanged) == (0, 1)


def test_an_empty_or_oversized_batch_is_refused_whole(session, people):
    with pytest.raises(FileRefused, match="batch: no rows"):
        import_lead_rows(session=session, actor=people["root"], rows=[], source="api",
                         name="batch")
    too_many = [{"external_id": str(n)} for n in range(10_001)]
    with pytest.raises(FileRefused, match="at most 10,000"):
        import_lead_rows(session=session, actor=people["root"], rows=too_many, source="api",
                         name="batch")
    assert session.exec(select(Lead)).first() is None


def test_a_rep_cannot_import_rows(session, people):
    with pytest.raises(PermissionDenied):
        import_lead_rows(session=session, actor=people["ana"], rows=LEADS, source="api",
                         name="batch")


def test_a_date_only_stage_on_the_creation_day_updates_a_stored_lead(session, people):
    """As a new lead may have it: Salesforce converts a lead the day it was created, and the
    sync that follows brings the date of the conversion only."""
    created = [{"external_id": "00Q1", "created_at": "2026-10-01T15:00:00Z"}]
    import_lead_rows(session=session, actor=people["root"], rows=created, source="salesforce",
                     name="leads")
    converted = [{"external_id": "00Q1", "sql_at": "2026-10-01"},
                 {"external_id": "00Q1x", "created_at": "2026-10-01T15:00:00Z",
                  "sql_at": "2026-10-01"}]
    summary = import_lead_rows(session=session, actor=people["root"], rows=converted,
                               source="salesforce", name="leads")
    assert (summary.updated, summary.inserted, summary.errors) == (1, 1, [])
    early = import_lead_rows(session=session, actor=people["root"], source="salesforce",
                             rows=[{"external_id": "00Q1", "won_at": "2026-09-30"}],
                             name="leads")
    assert early.rejected == 1 and "before the lead's creation" in early.errors[0].reason
