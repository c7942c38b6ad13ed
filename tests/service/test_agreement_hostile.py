"""Hostile SLA YAML never reaches the database: import_yaml refuses it and no row changes."""

import pytest
from sqlmodel import SQLModel, select

from core.agreement import InvalidAgreement
from core.services import agreements
from tests.hostile.yaml_cases import BASE, CASES, SOURCE, YamlCase
from tests.service.test_cli import cli


def _rows(session) -> dict[str, list]:
    """Every row of every table, in primary-key order."""
    session.flush()
    return {table.name: session.execute(select(table).order_by(*table.primary_key.columns)).all()
            for table in SQLModel.metadata.sorted_tables}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_document_is_refused_as_an_agreement_or_a_version_and_changes_no_row(
        session, people, case: YamlCase):
    stored = agreements.import_yaml(session=session, actor=people["marco"], text=BASE,
                                    source=SOURCE)
    before = _rows(session)
    for agreement_id in (None, stored.agreement_id):
        with pytest.raises(InvalidAgreement):
            agreements.import_yaml(session=session, actor=people["marco"], text=case.content,
                                   source=SOURCE, agreement_id=agreement_id)
        assert _rows(session) == before


@pytest.fixture
def marco_database(tmp_path) -> str:
    """A migrated SQLite file with marco, head of marketing, for the CLI."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    added = cli(url, "users", "add", "marco", "--role", "marketing_head", "--name", "Marco",
                "--email", "marco@example.com", stdin="long enough password\n")
    assert added.returncode == 0, added.stderr
    return url


CLI_CASES = ["latin-1 byte", "UTF-16 without BOM", "NUL byte", "billion-laughs-9",
             "just-over-the-size-limit"]


def test_agreement_import_refuses_hostile_files_with_their_error_and_takes_utf16(
        marco_database, tmp_path):
    by_name = {case.name: case for case in CASES}
    for name in CLI_CASES:
        case = by_name[name]
        path = tmp_path / SOURCE
        path.write_bytes(case.content if isinstance(case.content, bytes)
                         else case.content.encode())
        result = cli(marco_database, "agreement", "import", str(path), "--as", "marco")
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert case.names[-1] in result.stderr
    path.write_bytes(BASE.encode("utf-16"))
    result = cli(marco_database, "agreement", "import", str(path), "--as", "marco")
    assert (result.returncode, result.stdout.strip()) == (0, "agreement 1 version 1")
