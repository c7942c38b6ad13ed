"""`import undo`: a batch is reverted to the state before it, unless later work built on it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from core.errors import InvalidInput, PermissionDenied
from core.services import import_undo, imports
from core.services import leads as lead_work
from core.services.agreements import WorkflowError
from db.models import AuditEvent, ImportBatch, Lead, Touch

ROOT = Path(__file__).resolve().parents[2]
MAPPING = {"external_id": "mql_id", "mql_at": "first_contact_date", "channel": "origin",
           "email": "email", "company": "company", "owner": "sdr_id"}
HEADER = "mql_id,first_contact_date,origin,email,company,sdr_id\n"


def leads_file(rows: list[str]) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


FIRST = leads_file([f"m{i},2018-02-{1 + i:02d},organic_search,p{i}@example.com,Co {i},ana"
                    for i in range(6)])
# m0 and m1 change channel and company (m1 gains a won date too); m6 and m7 are new, and m6
# shares its email with m0 (so m6 comes in recycled).
SECOND = (b"mql_id,first_contact_date,origin,email,company,sdr_id,won_date\n"
          b"m0,2018-02-01,paid_search,p0@example.com,Renamed Co,ana,\n"
          b"m1,2018-02-02,social,p1@example.com,Co 1,ben,2018-03-01\n"
          b"m2,2018-02-03,organic_search,p2@example.com,Co 2,ana,\n"
          b"m6,2018-03-01,referral,p0@example.com,Co 6,ana,\n"
          b"m7,2018-03-02,referral,p7@example.com,Co 7,ben,\n")


def run(session, actor, data: bytes, **mapping):
    return imports.import_leads(session=session, actor=actor, data=data, filename="mqls.csv",
                                overrides={**MAPPING, **mapping}, source="crm", tz="UTC")


def state(session) -> list[dict]:
    """Every stored lead, as the user sees it (ids and batch marks aside)."""
    session.expire_all()
    return sorted(({k: v for k, v in lead.model_dump().items()
                    if k not in ("id", "import_batch_id")}
                   for lead in session.exec(select(Lead)).all()),
                  key=lambda lead: lead["external_id"])


def test_undo_restores_the_state_before_the_batch(session, people):
    run(session, people["marco"], FIRST)
    before = state(session)
    second = run(session, people["marco"], SECOND, won_at="won_date")
    assert (second.inserted, second.updated, second.unchanged) == (2, 2, 1)
    assert state(session) != before

    undone = import_undo.undo_batch(session=session, actor=people["marco"],
                                    batch_id=second.batch_id)
    assert (undone.deleted, undone.restored) == (2, 2)
    assert state(session) == before
    batch = session.get(ImportBatch, second.batch_id)
    assert batch.undone_by == "marco" and batch.undone_at is not None
    events = session.exec(select(AuditEvent).where(
        AuditEvent.batch_id == second.batch_id)).all()
    actions = sorted(event.action for event in events)
    assert actions == ["import.leads", "import.undo", "lead.import_undo_insert",
                       "lead.import_undo_insert", "lead.import_undo_update",
                       "lead.import_undo_update", "lead.import_update", "lead.import_update"]
    with pytest.raises(WorkflowError, match="already undone by marco"):
        import_undo.undo_batch(session=session, actor=people["marco"],
                               batch_id=second.batch_id)


def test_undo_of_the_first_batch_leaves_no_lead(session, people):
    first = run(session, people["marco"], FIRST)
    import_undo.undo_batch(session=session, actor=people["sofia"], batch_id=first.batch_id)
    assert state(session) == []


def later_touch(session, people):
    lead = session.exec(select(Lead).where(Lead.external_id == "m7")).one()
    lead_work.log_touch(session=session, actor=people["sofia"], lead_id=lead.id, kind="call")


def later_import(session, people):
    run(session, people["mia"], leads_file(["m0,2018-02-01,events,p0@example.com,Co 0,ana"]))


def later_rejection(session, people):
    lead = session.exec(select(Lead).where(Lead.external_id == "m1")).one()
    lead_work.reject_lead(session=session, actor=people["sofia"], lead_id=lead.id,
                          reason="not_a_fit")


@pytest.mark.parametrize("later", [later_touch, later_import, later_rejection],
                         ids=["a touch on an inserted lead", "a later import of a changed lead",
                              "a rejection of a changed lead"])
def test_undo_is_refused_when_later_work_touched_the_batch(session, people, later):
    run(session, people["marco"], FIRST)
    second = run(session, people["marco"], SECOND, won_at="won_date")
    later(session, people)
    before = state(session)
    touches = len(session.exec(select(Touch)).all())
    with pytest.raises(InvalidInput, match=r"cannot be undone: 1 of its leads changed after it "
                                           r"\(crm/m\d\)"):
        import_undo.undo_batch(session=session, actor=people["marco"],
                               batch_id=second.batch_id)
    assert state(session) == before
    assert len(session.exec(select(Touch)).all()) == touches


def test_undo_of_a_touch_batch_removes_its_touches_only(session, people):
    run(session, people["marco"], FIRST)
    lead = session.exec(select(Lead).where(Lead.external_id == "m3")).one()
    lead_work.log_touch(session=session, actor=people["sofia"], lead_id=lead.id, kind="email")
    batch = imports.import_touches(
        session=session, actor=people["marco"], filename="calls.csv", source="crm", tz="UTC",
        data=b"lead,at,kind\nm0,2018-02-01 10:00,call\nm3,2018-02-04 11:00,call\n",
        overrides={"lead_external_id": "lead", "at": "at", "kind": "kind"})
    assert batch.inserted == 2
    undone = import_undo.undo_batch(session=session, actor=people["marco"],
                                    batch_id=batch.batch_id)
    assert undone.deleted == 2
    assert [(t.kind, t.rep) for t in session.exec(select(Touch)).all()] == [("email", "sofia")]


def test_only_importers_may_undo_and_an_unknown_batch_is_not_found(session, people):
    first = run(session, people["marco"], FIRST)
    for role in ("ana", "erin"):
        with pytest.raises(PermissionDenied):
            import_undo.undo_batch(session=session, actor=people[role], batch_id=first.batch_id)
    with pytest.raises(Exception, match="no import batch 999"):
        import_undo.undo_batch(session=session, actor=people["marco"], batch_id=999)


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DATABASE_URL": database_url})


def test_import_undo_through_the_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'undo.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    leads = tmp_path / "mqls.csv"
    leads.write_bytes(FIRST)
    maps = [arg for field, column in MAPPING.items() for arg in ("--map", f"{field}={column}")]
    done = cli(url, "import", "leads", str(leads), *maps, "--source", "crm", "--tz", "UTC",
               "--format", "json")
    summary = json.loads(done.stdout)
    assert summary["inserted"] == 6 and isinstance(summary["batch"], int)
    undone = cli(url, "import", "undo", str(summary["batch"]), "--format", "json")
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout) == {"batch": summary["batch"], "kind": "leads",
                                         "deleted": 6, "restored": 0}
    again = cli(url, "import", "undo", str(summary["batch"]))
    assert again.returncode == 1 and "already undone" in again.stderr
    assert "Traceback" not in again.stderr
    from sqlalchemy import create_engine
    from sqlmodel import Session
    with Session(create_engine(url)) as session:
        channels = {e.action: e.channel for e in session.exec(select(AuditEvent)).all()}
    assert channels == {"import.leads": "cli", "lead.import_undo_insert": "cli",
                        "import.undo": "cli"}
