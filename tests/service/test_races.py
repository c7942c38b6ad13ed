"""What two people (or processes) do at the same instant: run it at the same instant.

Each race starts its two sides on separate connections behind a barrier, many times over, on a
SQLite file (WAL) and on PostgreSQL, and then checks what must hold whoever won: no save is
lost, no approval names a document its approver did not read, an admin always remains, an
import's rows and audit events count once.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from core import agreement as sla
from core.permissions import Role
from core.services import accounts, agreements, get_actor, imports, reviews
from core.services import leads as lead_work
from core.services.agreements import StaleVersion
from db.engine import session_scope
from db.models import (
    AgreementVersion,
    Approval,
    AuditEvent,
    Dispute,
    ImportBatch,
    Lead,
    User,
)
from tests.service.conftest import add_people
from tests.sla_helpers import activate, around_the_clock

SAVE_PAIRS = 50
APPROVE_WHILE_EDITING = 50
DEMOTIONS = 20
DISPUTE_RACES = 10
JULY = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


def at_once(engine: Engine, *sides: Callable) -> list:
    """Run each side in its own unit of work on its own connection, released together;
    the outcome of each: its result, or the exception it raised."""
    barrier = threading.Barrier(len(sides))

    def run(side: Callable):
        barrier.wait()
        try:
            with session_scope(engine) as session:
                return side(session)
        except Exception as error:  # the race's loser: kept, and checked by the test
            return error

    with ThreadPoolExecutor(len(sides)) as pool:
        return list(pool.map(run, sides))


def document(title: str, within: str = "4h") -> sla.Document:
    data = sla.to_dict(sla.template(title=title, start=date(2026, 1, 1), end=date(2026, 4, 1),
                                    timezone="America/New_York"))
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = within
    return sla.from_dict(data)


@pytest.fixture
def people(concurrent_engine) -> dict:
    with session_scope(concurrent_engine) as session:
        return add_people(session)


def new_draft(engine: Engine, people: dict, title: str, submitted: bool = False):
    with session_scope(engine) as session:
        version = agreements.create_agreement(session=session, actor=people["marco"],
                                              document=document(title))
        if submitted:
            version = agreements.submit(session=session, actor=people["marco"],
                                        agreement_id=version.agreement_id)
    return version


def edits(engine: Engine, version) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent).where(
            AuditEvent.action == "version.edit",
            AuditEvent.object_id == f"{version.agreement_id}/{version.number}")).all())


def stored_version(engine: Engine, agreement_id: int, number: int) -> AgreementVersion:
    with session_scope(engine) as session:
        return session.exec(select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement_id,
            AgreementVersion.number == number)).one()


def save(people: dict, who: str, version, document: sla.Document) -> Callable:
    """A save of `document` made on revision 1 of the version."""
    return lambda session: agreements.save_draft(
        session=session, actor=people[who], agreement_id=version.agreement_id, number=1,
        document=document, expected_revision=1)


def approve(people: dict, who: str, version) -> Callable:
    """An approval of exactly the version the approver has on screen."""
    return lambda session: agreements.approve(
        session=session, actor=people[who], agreement_id=version.agreement_id, number=1,
        revision=version.revision, document_sha256=version.document_sha256)


def test_two_heads_saving_the_same_revision_at_once_never_lose_an_edit(concurrent_engine,
                                                                        people):
    for trial in range(SAVE_PAIRS):
        version = new_draft(concurrent_engine, people, f"Race {trial}")
        theirs = {"sofia": document(f"Race {trial}", "2h"),
                  "marco": document(f"Race {trial}", "6h")}
        outcomes = dict(zip(theirs, at_once(concurrent_engine,
                                            *(save(people, who, version, theirs[who])
                                              for who in theirs)), strict=True))
        saved = [who for who, outcome in outcomes.items()
                 if isinstance(outcome, agreements.VersionView)]
        refused = [who for who, outcome in outcomes.items() if isinstance(outcome, StaleVersion)]
        assert len(saved) == 1 and len(refused) == 1, outcomes
        winner, loser = saved[0], refused[0]
        assert f"{winner.title()} saved it" in str(outcomes[loser])  # who changed what (by name)
        row = stored_version(concurrent_engine, version.agreement_id, 1)
        assert row.revision == 2
        assert row.document == sla.to_dict(theirs[winner])  # what the winner was told is stored
        events = edits(concurrent_engine, version)
        assert [event.after["revision"] for event in events] == [2]
        assert events[0].after["document"] == row.document


def test_an_approval_racing_an_edit_never_approves_unseen_text(concurrent_engine, people):
    for trial in range(APPROVE_WHILE_EDITING):
        version = new_draft(concurrent_engine, people, f"Review {trial}", submitted=True)
        edited = document(f"Review {trial}", "72h")
        approval, saved = at_once(concurrent_engine, approve(people, "sofia", version),
                                  save(people, "marco", version, edited))
        assert not isinstance(saved, Exception), saved  # the edit always lands somewhere
        if isinstance(approval, Exception):
            assert isinstance(approval, StaleVersion), approval
            assert "first-touch" in str(approval)  # says what changed since her revision
            assert (saved.number, saved.revision) == (1, 2)  # edited in place
        else:
            assert (saved.number, saved.based_on) == (2, 1)  # approved first: a new draft
        with session_scope(concurrent_engine) as session:
            for row in session.exec(select(Approval)).all():
                approved = session.get(AgreementVersion, row.version_id)
                assert row.revision == approved.revision
                assert row.document_sha256 == sla.canonical_sha256(approved.document)
                if approved.agreement_id == version.agreement_id:  # what sofia read
                    assert approved.document == sla.to_dict(version.document)


def test_two_admins_demoting_each_other_at_once_leave_an_admin(concurrent_engine, people):
    with session_scope(concurrent_engine) as session:
        for username in ("alex", "blair"):
            accounts.add_user(session=session, actor=accounts.OPERATOR, username=username,
                              display_name=username.title(), email=f"{username}@example.com",
                              role=Role.ADMIN, password="long enough password")
        accounts.change_role(session=session, actor=accounts.OPERATOR, username="root",
                             role=Role.EXEC)
    for trial in range(DEMOTIONS):
        with session_scope(concurrent_engine) as session:
            admins = {u: get_actor(session=session, username=u) for u in ("alex", "blair")}
        how = ("role", "active")[trial % 2]
        outcomes = at_once(concurrent_engine, demote(admins["alex"], "blair", how),
                           demote(admins["blair"], "alex", how))
        assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
        refusal = next(o for o in outcomes if isinstance(o, Exception))
        assert "last active administrator" in str(refusal)
        with session_scope(concurrent_engine) as session:
            assert session.exec(select(func.count()).where(
                User.role == Role.ADMIN, User.active)).one() == 1
            for username in ("alex", "blair"):  # make both admins again for the next trial
                user = session.exec(select(User).where(User.username == username)).one()
                user.role, user.active = Role.ADMIN, True
                session.add(user)


def demote(by, whom: str, how: str) -> Callable:
    """`by` takes away `whom`'s admin rights, by a role change or by deactivation."""
    if how == "role":
        return lambda session: accounts.change_role(session=session, actor=by, username=whom,
                                                    role=Role.SALES_REP)
    return lambda session: accounts.set_active(session=session, actor=by, username=whom,
                                               active=False)


LEADS = 2_000


def lead_file(won: bool = False) -> bytes:
    """LEADS MQLs; with `won`, the same leads gain a won date (2,000 real changes)."""
    header = "mql_id,first_contact_date,origin" + (",won_date" if won else "") + "\n"
    rows = [f"m{i:05d},2018-02-{1 + i % 28:02d},organic_search"
            + (",2018-03-20" if won else "") for i in range(LEADS)]
    return (header + "\n".join(rows) + "\n").encode()


def import_at_once(engine: Engine, actor, data: bytes) -> list:
    mapping = {"external_id": "mql_id", "mql_at": "first_contact_date", "channel": "origin"}
    if b"won_date" in data:
        mapping["won_at"] = "won_date"

    def run(session):
        return imports.import_leads(session=session, actor=actor, data=data, filename="m.csv",
                                    overrides=mapping, source="olist", tz="UTC")

    return at_once(engine, run, run)


def test_the_same_file_imported_twice_at_once_lands_once(concurrent_engine, people):
    first, second = import_at_once(concurrent_engine, people["marco"], lead_file())
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first,
                                                                                   second)
    assert sorted([first.inserted, second.inserted]) == [0, LEADS]
    assert sorted([first.unchanged, second.unchanged]) == [0, LEADS]

    first, second = import_at_once(concurrent_engine, people["marco"], lead_file(won=True))
    assert sorted([first.updated, second.updated]) == [0, LEADS]
    with session_scope(concurrent_engine) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == LEADS
        updates = session.exec(select(func.count()).where(
            AuditEvent.action == "lead.import_update")).one()
        assert updates == LEADS  # one audit event per real change
        assert session.exec(select(func.count()).select_from(ImportBatch)).one() == 4


def rejected_lead(engine: Engine, people: dict, external_id: str) -> int:
    """A lead of ana's that she rejected as not a fit."""
    with session_scope(engine) as session:
        lead = Lead(source="crm", external_id=external_id, created_at=JULY, mql_at=JULY,
                    owner="ana")
        session.add(lead)
        session.flush()
        lead_work.reject_lead(session=session, actor=people["ana"], lead_id=lead.id,
                              reason="not_a_fit")
        return lead.id


def test_two_marketers_disputing_one_rejection_at_once_open_one_dispute(concurrent_engine,
                                                                        people):
    with session_scope(concurrent_engine) as session:
        activate(session, people, around_the_clock())
    for trial in range(DISPUTE_RACES):
        lead_id = rejected_lead(concurrent_engine, people, f"disputed-{trial}")

        def dispute(who: str, lead_id: int = lead_id) -> Callable:
            return lambda session: lead_work.dispute_rejection(
                session=session, actor=people[who], lead_id=lead_id, comment=f"{who} says no")

        outcomes = at_once(concurrent_engine, dispute("mia"), dispute("marco"))
        assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
        assert "already has an open dispute" in str(next(
            o for o in outcomes if isinstance(o, Exception)))
        with session_scope(concurrent_engine) as session:
            assert len(session.exec(select(Dispute).where(Dispute.lead_id == lead_id)).all()) \
                == 1


def test_two_heads_resolving_one_dispute_at_once_resolve_it_once(concurrent_engine, people):
    with session_scope(concurrent_engine) as session:
        activate(session, people, around_the_clock())
    for trial in range(DISPUTE_RACES):
        lead_id = rejected_lead(concurrent_engine, people, f"resolved-{trial}")
        with session_scope(concurrent_engine) as session:
            dispute_id = lead_work.dispute_rejection(session=session, actor=people["mia"],
                                                     lead_id=lead_id, comment="A real buyer.")

        def resolve(who: str, overturn: bool, dispute_id: int = dispute_id) -> Callable:
            return lambda session: lead_work.resolve_dispute(
                session=session, actor=people[who], dispute_id=dispute_id, overturn=overturn,
                comment=f"{who} decided")

        outcomes = at_once(concurrent_engine, resolve("sofia", False), resolve("marco", True))
        refusals = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refusals) == 1 and "is already" in str(refusals[0]), outcomes
        with session_scope(concurrent_engine) as session:
            dispute = session.get(Dispute, dispute_id)
            lead = session.get(Lead, lead_id)
            decided = session.exec(select(AuditEvent).where(
                AuditEvent.action.in_(["dispute.upheld", "dispute.overturned"]),
                AuditEvent.object_id == f"crm/resolved-{trial}")).all()
        assert [event.action for event in decided] == [f"dispute.{dispute.state}"]
        assert (lead.rejected_at is None) == (dispute.state == "overturned")


def test_two_execs_signing_one_quarter_at_once_sign_it_once(concurrent_engine, people):
    with session_scope(concurrent_engine) as session:
        activate(session, people, around_the_clock())
        accounts.add_user(session=session, actor=accounts.OPERATOR, username="eve",
                          display_name="Eve", email="eve@example.com", role=Role.EXEC,
                          password="long enough password")
        execs = [people["erin"], get_actor(session=session, username="eve")]

    def sign(actor) -> Callable:
        return lambda session: reviews.sign(session=session, actor=actor, quarter="2026-Q3",
                                            comment=f"{actor.username} signs")

    outcomes = at_once(concurrent_engine, *(sign(actor) for actor in execs))
    refusals = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refusals) == 1 and "already signed off" in str(refusals[0]), outcomes
    with session_scope(concurrent_engine) as session:
        assert len(session.exec(select(AuditEvent).where(
            AuditEvent.action == "review.sign")).all()) == 1
