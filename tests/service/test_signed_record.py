"""A signed version, its approvals, a signed review and the audit trail cannot change by any
path: the services, the command line, the ORM, a bulk update, or raw SQL (db.guards).

The database refuses on SQLite and PostgreSQL alike, whether the schema came from the
migrations (the CLI tests below) or from create_all (the session tests).
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import agreement as sla
from core.services import agreements, reviews
from core.services.agreements import WorkflowError
from db.models import AgreementVersion, Approval, AuditEvent, QuarterlyReview, ReviewComment
from tests.sla_helpers import activate, around_the_clock

ROOT = Path(__file__).resolve().parents[2]
Q3 = "2026-Q3"
GUARD = "handoff guard"


@pytest.fixture
def signed(session, people) -> AgreementVersion:
    """An active version with its three approvals, and a signed review of 2026-Q3."""
    activate(session, people, around_the_clock())
    reviews.sign(session=session, actor=people["erin"], quarter=Q3, comment="Signed.")
    session.flush()
    return session.exec(select(AgreementVersion)).one()


def snapshot(session) -> dict:
    """Every guarded row, as plain values."""
    rows = {}
    for model in (AgreementVersion, Approval, QuarterlyReview, ReviewComment, AuditEvent):
        rows[model.__tablename__] = sorted(
            json.dumps(row.model_dump(), sort_keys=True, default=str)
            for row in session.exec(select(model)).all())
    return rows


def refused(session: Session, attempt) -> None:
    """The attempt fails with a guard's refusal; the session goes on."""
    with pytest.raises(IntegrityError, match=GUARD), session.begin_nested():
        attempt()
        session.flush()
    session.expire_all()


def test_the_services_refuse_to_change_what_is_signed(session, people, signed):
    before = snapshot(session)
    aid, edited = signed.agreement_id, around_the_clock("Rewritten")
    attempts = [
        lambda: agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                                      number=1, document=edited, expected_revision=1),
        lambda: agreements.submit(session=session, actor=people["sofia"], agreement_id=aid),
        lambda: agreements.approve(session=session, actor=people["sofia"], agreement_id=aid,
                                   revision=1),
        lambda: agreements.sign(session=session, actor=people["erin"], agreement_id=aid,
                                revision=1),
        lambda: reviews.sign(session=session, actor=people["erin"], quarter=Q3),
        lambda: reviews.send_back(session=session, actor=people["erin"], quarter=Q3,
                                  comment="Again."),
    ]
    for attempt in attempts:
        with pytest.raises(WorkflowError):
            attempt()
    assert snapshot(session) == before


def test_the_orm_cannot_change_a_signed_version(session, signed):
    before = snapshot(session)
    rewritten = sla.to_dict(around_the_clock("Rewritten"))

    def draft_then_back():  # the dodge: unsign, edit, re-sign, one flush at a time
        signed.state = "draft"
        session.flush()
        signed.document = rewritten
        session.flush()
        signed.state = "active"

    def rewrite():
        signed.document = rewritten

    def resign():
        signed.signed_at = datetime(2020, 1, 1, tzinfo=UTC)

    def retitle():
        signed.title = "Rewritten"

    for attempt in (draft_then_back, rewrite, resign, retitle,
                    lambda: session.delete(signed)):
        refused(session, attempt)
    assert snapshot(session) == before


def test_the_orm_cannot_change_approvals_reviews_or_the_audit_trail(session, signed):
    before = snapshot(session)
    exec_approval = session.exec(select(Approval).where(Approval.side == "exec")).one()
    review = session.exec(select(QuarterlyReview)).one()
    event = session.exec(select(AuditEvent)).first()
    note = session.exec(select(ReviewComment)).first()

    def forge_approval():
        exec_approval.username = "mallory"

    def rewrite_snapshot():
        review.snapshot = {"forged": True}

    def reopen_review():
        review.state = "open"

    def rewrite_event():
        event.actor = "mallory"

    def rewrite_note():
        note.body = "Never signed."

    def add_exec_approval():  # a second sign-off, written straight into the table
        session.add(Approval(version_id=signed.id, side="exec", username="mallory",
                             revision=signed.revision))

    for attempt in (forge_approval, lambda: session.delete(exec_approval), rewrite_snapshot,
                    reopen_review, lambda: session.delete(review), rewrite_event,
                    lambda: session.delete(event), rewrite_note, lambda: session.delete(note),
                    add_exec_approval):
        refused(session, attempt)
    assert snapshot(session) == before


def test_bulk_updates_and_deletes_are_refused(session, signed):
    before = snapshot(session)
    statements = [
        update(AgreementVersion).values(document={"forged": True}),
        update(AgreementVersion).values(state="draft"),
        update(AgreementVersion).values(signed_at=datetime(2020, 1, 1, tzinfo=UTC)),
        delete(AgreementVersion),
        update(Approval).values(comment="forged"),
        delete(Approval),
        update(QuarterlyReview).values(snapshot={"forged": True}),
        update(QuarterlyReview).values(signed_at=datetime(2020, 1, 1, tzinfo=UTC)),
        delete(QuarterlyReview),
        update(ReviewComment).values(body="forged"),
        delete(ReviewComment),
        update(AuditEvent).values(actor="mallory"),
        delete(AuditEvent),
    ]
    for statement in statements:
        refused(session, lambda statement=statement: session.execute(
            statement.execution_options(synchronize_session=False)))
    assert snapshot(session) == before


def test_raw_sql_is_refused(session, signed):
    before = snapshot(session)
    version = signed.id
    statements = [
        f"UPDATE agreement_versions SET title = 'Rewritten' WHERE id = {version}",
        f"UPDATE agreement_versions SET state = 'draft' WHERE id = {version}",
        f"UPDATE agreement_versions SET revision = revision + 1 WHERE id = {version}",
        f"DELETE FROM agreement_versions WHERE id = {version}",
        "INSERT INTO agreement_versions (agreement_id, number, state, document, title, "
        "effective_start, effective_end, revision, created_by, created_at, updated_by, "
        "updated_at, signed_at) SELECT agreement_id, 9, 'active', document, title, "
        "effective_start, effective_end, 1, 'mallory', created_at, 'mallory', updated_at, "
        f"signed_at FROM agreement_versions WHERE id = {version}",
        "UPDATE approvals SET username = 'mallory' WHERE side = 'exec'",
        "DELETE FROM approvals",
        "INSERT INTO approvals (version_id, side, username, at, revision) SELECT version_id, "
        "side, 'mallory', at, revision FROM approvals WHERE side = 'exec'",
        "UPDATE quarterly_reviews SET state = 'open'",
        "UPDATE quarterly_reviews SET snapshot = NULL",
        "DELETE FROM quarterly_reviews",
        "DELETE FROM review_comments",
        "UPDATE audit_events SET actor = 'mallory'",
        "DELETE FROM audit_events",
    ]
    if session.connection().dialect.name == "postgresql":
        statements += ["TRUNCATE audit_events", "TRUNCATE approvals CASCADE"]
    for statement in statements:
        refused(session, lambda statement=statement: session.execute(text(statement)))
    assert snapshot(session) == before


def test_allowed_changes_still_work(session, people, signed):
    """The guards refuse only what must not happen: a superseding amendment, expiry and new
    audit events still go through."""
    amendment = agreements.amend(session=session, actor=people["marco"],
                                 agreement_id=signed.agreement_id)
    activate(session, people, amendment.document, agreement_id=signed.agreement_id)
    session.refresh(signed)
    assert signed.state == "superseded"


# --- through the command line, on migrated databases ------------------------------------------


def cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DATABASE_URL": database_url,
                               "HANDOFF_BCRYPT_ROUNDS": "4"})


@pytest.fixture(params=["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL")
                                     else []))
def migrated_url(request, tmp_path) -> Iterator[str]:
    """A database built by `db upgrade`, seeded with the demo (signed version and review)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'signed.db'}"
    else:
        server = make_url(os.environ["TEST_DATABASE_URL"])
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS handoff_signed WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE handoff_signed"))
        url = server.set(database="handoff_signed").render_as_string(hide_password=False)
    for command in (["db", "upgrade"], ["demo", "seed", "--leads", "200"]):
        result = cli(url, *command)
        assert result.returncode == 0, result.stderr
    yield url
    if request.param == "postgresql":
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS handoff_signed WITH (FORCE)"))
        admin.dispose()


def test_the_cli_and_raw_sql_cannot_change_the_signed_record_of_a_migrated_database(
        migrated_url):
    engine = create_engine(migrated_url)
    with Session(engine) as session:  # the demo's review waits for the exec: she signs it
        signed_review = session.exec(select(QuarterlyReview)).one().quarter
    assert cli(migrated_url, "review", "sign", signed_review, "--as", "erin").returncode == 0
    with Session(engine) as session:
        before = snapshot(session)
    for args in (["agreement", "approve", "1", "--version", "1", "--as", "sofia"],
                 ["agreement", "sign", "1", "--version", "1", "--as", "erin"],
                 ["review", "sign", signed_review, "--as", "erin"],
                 ["review", "send-back", signed_review, "--as", "erin", "--comment", "No."]):
        result = cli(migrated_url, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    with Session(engine) as session:
        for statement in ("UPDATE agreement_versions SET title = 'x' WHERE number = 1",
                          "UPDATE approvals SET comment = 'x'",
                          "UPDATE quarterly_reviews SET snapshot = NULL",
                          "DELETE FROM audit_events"):
            refused(session, lambda statement=statement: session.execute(text(statement)))
        assert snapshot(session) == before
    engine.dispose()
