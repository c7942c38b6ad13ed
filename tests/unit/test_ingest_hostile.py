"""The hostile import corpus (tests/hostile/import_cases.py) through core.ingest: every file is
refused whole or gives the recorded row errors, and nothing else ever escapes."""

import pytest

from core import ingest, limits
from tests.hostile.import_cases import AMPLIFICATION, BY_NAME, CASES, REASONS, Case


def parse(case: Case, data: bytes) -> ingest.ParsedFile:
    """Read, map and parse a case's file as the import services do."""
    table = ingest.read_table(data, case.filename)
    mapping = ingest.resolve_mapping(
        table.columns,
        kind=case.kind,
        preset=case.options.get("preset"),
        overrides=case.options.get("overrides", {}),
        filename=case.filename,
    )
    date_format = case.options.get("date_format")
    if case.kind == "touches":
        return ingest.parse_touches(table, mapping, tz=case.tz, date_format=date_format)
    return ingest.parse_leads(
        table, mapping, tz=case.tz, date_format=date_format, rejection_reasons=REASONS
    )


# core.ingest never sees the options that only the service checks (--source).
@pytest.mark.parametrize("case", [c for c in CASES if c.invalid is None], ids=lambda c: c.name)
def test_a_hostile_file_is_refused_or_gives_its_row_errors(case):
    data = case.build()
    if case.refused is not None:
        with pytest.raises(ingest.FileRefused) as refused:
            parse(case, data)
        assert str(refused.value).startswith(f"{case.filename}: ")
        assert case.refused in str(refused.value)
        return
    if case.usage is not None:
        with pytest.raises(ingest.UsageError) as usage:
            parse(case, data)
        assert case.usage in str(usage.value)
        return
    parsed = parse(case, data)
    assert {(e.line, e.column) for e in parsed.errors} == {(p.line, p.column) for p in case.errors}
    for problem in case.errors:
        reasons = [e.reason for e in parsed.errors if (e.line, e.column) == problem[:2]]
        assert any(problem.words in reason for reason in reasons), (problem, reasons)
    assert parsed.read == case.counts.read
    assert parsed.rejected == len({problem.line for problem in case.errors})
    assert parsed.read == len(parsed.frame) + parsed.rejected == len(parsed.lines) + parsed.rejected
    # No reason quotes a cell longer than a cell may be (a 50 MB cell is not echoed).
    assert all(len(e.reason) < limits.CELL_MAX_CHARS + 200 for e in parsed.errors)


def test_the_corpus_covers_the_heavy_cases_and_forty_kinds():
    assert len(CASES) >= 40
    builders = {case.build for case in CASES}
    assert all(build in builders for build in AMPLIFICATION.values())


def test_ids_are_read_in_one_spelling():
    case = BY_NAME["ids that differ only by Unicode form"]
    parsed = parse(case, case.build())
    assert parsed.frame["external_id"].tolist() == ["Jos\u00e9", "L001", "L002", "N07"]
