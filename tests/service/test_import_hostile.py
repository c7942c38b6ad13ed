"""The hostile import corpus through core.services.imports, with leads and touches stored: a
refused file changes no row of any table; a file with row errors keeps every stored row, stores
its good rows, and its counts add up. On SQLite, and on PostgreSQL with TEST_DATABASE_URL (which
aborted a whole import on one over-long value)."""

import unicodedata
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from core import agreement as sla
from core.errors import InvalidInput
from core.ingest import FileRefused, UsageError
from core.services import imports
from tests.hostile.import_cases import (
    BASELINE_LEADS,
    BASELINE_TOUCHES,
    CASES,
    SOURCE,
    Case,
    Problem,
)
from tests.sla_helpers import activate

# Tables an import writes: the others must never change.
WRITTEN = {"leads", "touches", "import_batches", "audit_events"}
def run(session, actor, case: Case, data: bytes) -> imports.ImportSummary:
    """Import a case's file as the CLI does."""
    options = {
        "session": session,
        "actor": actor,
        "data": data,
        "filename": case.filename,
        "overrides": case.options.get("overrides"),
        "tz": case.tz,
        "date_format": case.options.get("date_format"),
        "source": case.source,
    }
    if case.kind == "touches":
        return imports.import_touches(**options)
    return imports.import_leads(**options, preset=case.options.get("preset"))


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    session.flush()
    return {
        table.name: [
            tuple(row)
            for row in session.execute(
                select(table).order_by(*table.primary_key.columns)
            ).all()
        ]
        for table in SQLModel.metadata.sorted_tables
    }


@pytest.fixture
def stored(session, people):
    """An active agreement (its rejection reasons), three leads and two touches."""
    activate(session, people, sla.template(title="SLA", start=date(2018, 1, 1),
                                           end=date(2099, 1, 1), timezone="UTC"))
    for service, data in ((imports.import_leads, BASELINE_LEADS),
                          (imports.import_touches, BASELINE_TOUCHES)):
        summary = service(session=session, actor=people["marco"], data=data,
                          filename="baseline.csv", tz="UTC", source=SOURCE)
        assert summary.rejected == 0 and summary.inserted > 0
    return people["marco"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_hostile_import_keeps_what_is_stored(session, stored, case):
    before = snapshot(session)
    data = case.build()
    refusal = {FileRefused: case.refused, UsageError: case.usage, InvalidInput: case.invalid}
    for error, words in refusal.items():
        if words is not None:
            with pytest.raises(error) as refused:
                run(session, stored, case, data)
            assert words in str(refused.value)
            assert snapshot(session) == before
            return
    summary = run(session, stored, case, data)
    del data
    counts = (summary.read, summary.inserted, summary.updated, summary.unchanged,
              summary.rejected)
    assert counts == tuple(case.counts)
    assert summary.read == summary.inserted + summary.updated + summary.unchanged \
        + summary.rejected
    expected = [*case.errors, *case.stored_errors]
    assert_errors(summary.errors, expected)
    after = snapshot(session)
    assert {name: rows for name, rows in after.items() if name not in WRITTEN} == \
        {name: rows for name, rows in before.items() if name not in WRITTEN}
    written = "leads" if case.kind == "leads" else "touches"
    assert_kept(before[written], after[written], summary)
    other = "touches" if case.kind == "leads" else "leads"
    assert after[other] == before[other]
    if case.kind == "leads":
        assert_one_spelling(after["leads"][len(before["leads"]):])


def assert_errors(errors, expected: list[Problem]) -> None:
    """Exactly the expected (line, column) pairs, each reason holding its words."""
    assert {(e.line, e.column) for e in errors} == {(p.line, p.column) for p in expected}
    for problem in expected:
        reasons = [e.reason for e in errors if (e.line, e.column) == (problem.line, problem.column)]
        assert any(problem.words in reason for reason in reasons), (problem, reasons)


def assert_kept(before: list[tuple], after: list[tuple], summary) -> None:
    """Every stored row is still there; `updated` of them changed; `inserted` rows are new."""
    kept = {row[0]: row for row in after[: len(before)]}
    assert list(kept) == [row[0] for row in before]
    assert sum(kept[row[0]] != row for row in before) == summary.updated
    assert len(after) - len(before) == summary.inserted


def assert_one_spelling(new_leads: list[tuple]) -> None:
    """New leads have their ids in NFKC, without zero-width characters, from the source."""
    lead = SQLModel.metadata.tables["leads"].columns.keys()
    source, external_id = lead.index("source"), lead.index("external_id")
    for row in new_leads:
        assert row[source] == SOURCE
        assert unicodedata.normalize("NFKC", row[external_id]) == row[external_id]
        assert not set(row[external_id]) & {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}
