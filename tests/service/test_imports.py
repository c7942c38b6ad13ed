"""Lead and touch imports through the services, on a real database."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core import agreement as sla
from core.permissions import PermissionDenied, Role
from core.services import imports
from db.models import AuditEvent, ImportBatch, Lead, Touch
from tests.service.conftest import BY_ROLE
from tests.sla_helpers import activate

MQL_HEADER = "mql_id,first_contact_date,landing_page_id,origin\n"
OLIST_MAP = {"external_id": "mql_id", "mql_at": "first_contact_date", "channel": "origin"}


def mql_file(count: int = 40) -> bytes:
    """An Olist-shaped MQL export with ISO dates."""
    rows = [f"m{i:04d},2018-0{1 + i % 3}-{1 + i % 28:02d},lp{i % 5},"
            f"{['organic_search', 'paid_search', 'social'][i % 3]}" for i in range(count)]
    return (MQL_HEADER + "\n".join(rows) + "\n").encode()


def run_import(session, actor, data: bytes, name="mqls.csv", **options):
    options.setdefault("overrides", OLIST_MAP)
    options.setdefault("source", "olist")
    return imports.import_leads(session=session, actor=actor, data=data, filename=name,
                                tz="America/Sao_Paulo", **options)


def stored(session, external_id: str, source: str = "olist") -> Lead:
    return session.exec(select(Lead).where(Lead.source == source,
                                           Lead.external_id == external_id)).one()


def test_import_then_reimport_changes_nothing(session, people):
    first = run_import(session, people["marco"], mql_file())
    assert (first.read, first.inserted, first.updated, first.unchanged, first.rejected) == \
        (40, 40, 0, 0, 0)
    lead = stored(session, "m0001")
    assert lead.mql_at == datetime(2018, 2, 2, 2, 0, tzinfo=UTC)  # local midnight in São Paulo
    assert lead.created_at == lead.mql_at
    assert lead.channel == "paid_search"
    assert lead.attributes == {"landing_page_id": "lp1"}
    again = run_import(session, people["marco"], mql_file())
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 40, 0)


def test_a_partial_file_updates_only_its_fields_and_audits_them(session, people):
    run_import(session, people["marco"], mql_file())
    closed = (b"mql_id,won_date,sdr_id,declared_monthly_revenue\n"
              b"m0001,2018-03-01 10:00:00,ana,\n"
              b"m0002,2018-03-05 11:30:00,ben,5000\n")
    summary = run_import(session, people["sofia"], closed, name="closed.csv", overrides={
        "external_id": "mql_id", "won_at": "won_date", "owner": "sdr_id",
        "amount": "declared_monthly_revenue"})
    assert (summary.read, summary.updated, summary.inserted, summary.rejected) == (2, 2, 0, 0)
    lead = stored(session, "m0002")
    assert (lead.owner, lead.amount, lead.channel) == ("ben", 5000.0, "social")
    assert lead.won_at == datetime(2018, 3, 5, 14, 30, tzinfo=UTC)
    first = stored(session, "m0001")
    assert first.amount is None and first.mql_at is not None
    audit = session.exec(select(AuditEvent).where(
        AuditEvent.action == "lead.import_update").order_by(AuditEvent.object_id)).all()
    assert [a.object_id for a in audit] == ["olist/m0001", "olist/m0002"]
    assert audit[1].actor == "sofia"
    assert audit[1].before == {"won_at": None, "owner": None, "amount": None}
    assert audit[1].after["owner"] == "ben" and audit[1].after["amount"] == 5000.0


def test_an_empty_cell_never_clears_a_stored_value(session, people):
    run_import(session, people["marco"], mql_file(3))
    blank = MQL_HEADER + "m0001,,,\n"
    summary = run_import(session, people["marco"], blank.encode())
    assert (summary.unchanged, summary.updated) == (1, 0)
    assert stored(session, "m0001").channel == "paid_search"


def test_bad_rows_are_reported_and_the_counts_add_up(session, people):
    data = (MQL_HEADER + "a1,2018-01-05,lp,social\n"
            ",2018-01-05,lp,social\n"
            "a2,not a date,lp,social\n"
            "a1,2018-01-06,lp,social\n"
            "a3,,lp,social\n").encode()
    summary = run_import(session, people["marco"], data)
    assert summary.read == 5
    assert summary.inserted == 1
    assert summary.rejected == 4
    assert summary.read == summary.inserted + summary.updated + summary.unchanged \
        + summary.rejected
    lines = sorted({e.line for e in summary.errors})
    assert lines == [3, 4, 5, 6]
    new_lead_error = next(e for e in summary.errors if e.line == 6)
    assert "needs created_at or mql_at" in new_lead_error.reason


def test_each_batch_records_file_hash_mapping_counts_who_and_when(session, people):
    data = mql_file(5)
    summary = run_import(session, people["mia"], data)
    batch = session.get(ImportBatch, summary.batch_id)
    assert batch.kind == "leads" and batch.actor == "mia" and batch.source == "olist"
    assert len(batch.file_hash) == 64
    assert batch.mapping["mql_at"] == ["first_contact_date"]
    assert (batch.read, batch.inserted) == (5, 5)
    assert batch.at.tzinfo is not None
    history = imports.list_batches(session=session, actor=people["marco"])
    assert [b.id for b in history] == [summary.batch_id]


def test_rejection_reasons_must_be_the_agreements(session, people):
    document = sla.template(title="SLA", start=date(2018, 1, 1), end=date(2099, 1, 1),
                            timezone="America/Sao_Paulo")
    activate(session, people, document)
    data = (b"id,mql,rejected,reason\n"
            b"r1,2018-01-05,2018-01-06,not_a_fit\n"
            b"r2,2018-01-05,2018-01-06,too_pushy\n")
    summary = imports.import_leads(
        session=session, actor=people["marco"], data=data, filename="r.csv", source="crm",
        overrides={"external_id": "id", "mql_at": "mql", "rejected_at": "rejected",
                   "rejection_reason": "reason"})
    assert summary.inserted == 1
    assert [(e.line, e.column) for e in summary.errors] == [(3, "reason")]
    # naive timestamps default to the active agreement's zone
    assert stored(session, "r1", "crm").mql_at == datetime(2018, 1, 5, 2, 0, tzinfo=UTC)


def test_recycled_mqls_are_flagged(session, people):
    data = (b"id,mql,email\n"
            b"p1,2018-01-01,jo@example.com\n"
            b"p2,2018-02-15,JO@example.com\n"
            b"p3,2018-09-01,jo@example.com\n"
            b"p4,2018-01-10,other@example.com\n")
    run_import(session, people["marco"], data, overrides={
        "external_id": "id", "mql_at": "mql", "email": "email"})
    flags = {lead.external_id: lead.recycled for lead in session.exec(select(Lead)).all()}
    assert flags == {"p1": False, "p2": True, "p3": False, "p4": False}


def test_touches_import_once_and_unknown_leads_are_rejected(session, people):
    run_import(session, people["marco"], mql_file(3))
    data = (b"lead,when,type,rep,auto\n"
            b"m0000,2018-01-02 10:00,call,ana,no\n"
            b"m0000,2018-01-02 09:00,email,ana,yes\n"
            b"nope,2018-01-02 10:00,call,ana,no\n")
    touches = {"lead_external_id": "lead", "at": "when", "kind": "type", "rep": "rep",
               "automated": "auto"}
    first = imports.import_touches(session=session, actor=people["sofia"], data=data,
                                   filename="t.csv", overrides=touches, source="olist",
                                   tz="UTC")
    assert (first.read, first.inserted, first.rejected) == (3, 2, 1)
    assert first.errors[0].line == 4 and "no lead 'nope'" in first.errors[0].reason
    again = imports.import_touches(session=session, actor=people["sofia"], data=data,
                                   filename="t.csv", overrides=touches, source="olist",
                                   tz="UTC")
    assert (again.inserted, again.unchanged, again.rejected) == (0, 2, 1)
    stored_touches = session.exec(select(Touch).order_by(Touch.at)).all()
    assert [(t.kind, t.automated) for t in stored_touches] == [("email", True), ("call", False)]


@pytest.mark.parametrize("role", [Role.EXEC, Role.SALES_REP])
def test_only_importing_roles_may_import(session, people, role):
    with pytest.raises(PermissionDenied):
        run_import(session, people[BY_ROLE[role]], mql_file(2))
    with pytest.raises(PermissionDenied):
        imports.import_touches(session=session, actor=people[BY_ROLE[role]], data=b"a\n1\n",
                               filename="t.csv")
    assert session.exec(select(Lead)).all() == []


def test_saved_mappings_are_reused_by_name(session, people):
    imports.save_mapping(session=session, actor=people["marco"], name="Olist MQLs",
                         kind="leads", mapping=OLIST_MAP)
    imports.save_mapping(session=session, actor=people["marco"], name="Olist MQLs",
                         kind="leads", mapping={**OLIST_MAP, "channel": "landing_page_id"})
    saved = imports.saved_mappings(session=session, actor=people["mia"], kind="leads")
    assert saved == {"Olist MQLs": {"preset": None,
                                    "mapping": {**OLIST_MAP, "channel": "landing_page_id"}}}


def test_a_stage_before_the_stored_creation_is_a_bad_row(session, people):
    run_import(session, people["marco"], mql_file(3))
    closed = (b"mql_id,won_date\n"
              b"m0001,2018-02-03 10:00:00\n"
              b"m0002,2017-12-01 10:00:00\n")
    summary = run_import(session, people["marco"], closed, name="closed.csv",
                         overrides={"external_id": "mql_id", "won_at": "won_date"})
    assert (summary.read, summary.updated, summary.rejected) == (2, 1, 1)
    error = summary.errors[0]
    assert (error.line, error.column) == (3, "won_date")
    assert "before the lead's creation" in error.reason
    assert stored(session, "m0002").won_at is None


def test_a_touch_before_its_lead_was_created_is_a_row_error(session, people):
    run_import(session, people["marco"], mql_file(3))  # m0000 is an MQL of 2018-01-01
    summary = imports.import_touches(
        session=session, actor=people["marco"], filename="calls.csv", source="olist",
        tz="UTC", overrides={"lead_external_id": "lead", "at": "at", "kind": "kind"},
        data=b"lead,at,kind\nm0000,2017-12-31 23:00,call\nm0000,2018-01-02 10:00,call\n")
    assert (summary.read, summary.inserted, summary.rejected) == (2, 1, 1)
    assert [(e.line, e.column) for e in summary.errors] == [(2, "at")]
    assert "before its lead 'm0000' was created (2018-01-01 02:00 UTC)" in \
        summary.errors[0].reason


def test_a_lead_with_the_longest_id_can_be_updated_and_audited(session, people):
    longest = "x" * 128  # with a 64-character source its audit reference is 193 characters
    source = "s" * 64
    first = b"mql_id,first_contact_date,origin\n" + longest.encode() + b",2018-01-02,social\n"
    run_import(session, people["marco"], first, source=source)
    again = run_import(session, people["marco"], first.replace(b"social", b"events"),
                       source=source)
    assert again.updated == 1
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "lead.import_update")).one()
    assert event.object_id == f"{source}/{longest}"
