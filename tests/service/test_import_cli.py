"""`python -m core.cli import leads|touches`: the automation contract of DESIGN §6."""

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlmodel import Session

from db.models import Lead, Touch
from tests.service.test_cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "ingest_fixtures"
OLIST = ["--map", "external_id=mql_id", "--map", "mql_at=first_contact_date",
         "--map", "channel=origin", "--source", "olist", "--tz", "America/Sao_Paulo"]


@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    return url


def imported(database_url: str, *args: str) -> dict:
    result = cli(database_url, "import", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mql_times(database_url: str) -> dict[str, object]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Lead.external_id, Lead.mql_at)).all()
    engine.dispose()
    return dict(rows)


def test_an_olist_export_imports_once_then_is_unchanged(database_url):
    first = imported(database_url, "leads", str(FIXTURES / "olist_mql_iso.csv"), *OLIST)
    assert set(first) >= {"read", "inserted", "updated", "unchanged", "rejected", "errors"}
    assert first["inserted"] == first["read"] > 0 and first["errors"] == []
    again = imported(database_url, "leads", str(FIXTURES / "olist_mql_iso.csv"), *OLIST)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, first["read"])


@pytest.mark.parametrize("date_format", [None, "%d-%m-%Y"])
def test_the_excel_resaved_export_gives_the_same_timestamps(database_url, tmp_path,
                                                            date_format):
    iso_db = f"sqlite:///{tmp_path / 'iso.db'}"
    assert cli(iso_db, "db", "upgrade").returncode == 0
    imported(iso_db, "leads", str(FIXTURES / "olist_mql_iso.csv"), *OLIST)
    extra = ["--date-format", date_format] if date_format else []
    summary = imported(database_url, "leads", str(FIXTURES / "olist_mql_excel_ddmmyyyy_crlf.csv"),
                       *OLIST, *extra)
    assert summary["rejected"] == 0
    if date_format is None:
        assert "first_contact_date: read as day-first (DD-MM-YYYY)" in summary["notes"]
    assert mql_times(database_url) == mql_times(iso_db)


def test_an_ambiguous_date_column_refuses_the_whole_file(database_url):
    result = cli(database_url, "import", "leads",
                 str(FIXTURES / "olist_mql_ambiguous_ddmmyyyy.csv"), *OLIST)
    assert result.returncode == 1
    assert "first_contact_date" in result.stderr and "--date-format" in result.stderr
    assert mql_times(database_url) == {}
    ok = imported(database_url, "leads", str(FIXTURES / "olist_mql_ambiguous_ddmmyyyy.csv"),
                  *OLIST, "--date-format", "%d-%m-%Y")
    assert ok["inserted"] == ok["read"]


@pytest.mark.parametrize(("preset", "fixture"), [
    ("hubspot", "hubspot_contacts_labels.csv"),
    ("hubspot", "hubspot_contacts_internal_names.csv"),
    ("salesforce", "salesforce_leads_api_names.csv"),
    ("salesforce", "salesforce_leads_report_labels.csv"),
])
def test_crm_presets_need_no_mapping(database_url, preset, fixture):
    summary = imported(database_url, "leads", str(FIXTURES / fixture), "--preset", preset,
                       "--tz", "UTC")
    assert summary["inserted"] == summary["read"] - summary["rejected"] > 0
    engine = create_engine(database_url)
    with Session(engine) as session:
        sources = set(session.execute(select(Lead.source)).scalars())
        mqls = session.execute(select(Lead.mql_at)).scalars().all()
    engine.dispose()
    assert sources == {preset}
    assert any(mqls)


def test_bad_rows_exit_0_and_are_listed_with_line_and_column(database_url):
    summary = imported(database_url, "leads", str(FIXTURES / "leads_bad_rows.csv"),
                       "--tz", "UTC")
    assert summary["rejected"] >= 12
    assert summary["read"] == summary["inserted"] + summary["updated"] + summary["unchanged"] \
        + summary["rejected"]
    assert all({"line", "column", "reason"} <= set(e) for e in summary["errors"])
    assert len({e["line"] for e in summary["errors"]}) == summary["rejected"]


def test_mapping_errors_are_usage_errors_or_refusals(database_url):
    unknown = cli(database_url, "import", "leads", str(FIXTURES / "olist_mql_iso.csv"),
                  "--map", "favourite_colour=origin")
    assert unknown.returncode == 2 and "favourite_colour" in unknown.stderr
    missing = cli(database_url, "import", "leads", str(FIXTURES / "olist_mql_iso.csv"),
                  "--map", "external_id=no_such_column")
    assert missing.returncode == 1 and "no_such_column" in missing.stderr
    assert cli(database_url, "import", "leads", str(FIXTURES / "olist_mql_iso.csv"),
               "--tz", "Mars/Olympus").returncode == 2


def test_touches_import_through_the_cli(database_url, tmp_path):
    imported(database_url, "leads", str(FIXTURES / "olist_mql_iso.csv"), *OLIST)
    engine = create_engine(database_url)
    with Session(engine) as session:
        some_id = session.execute(select(Lead.external_id)).scalars().first()
    engine.dispose()
    touches = tmp_path / "touches.csv"
    touches.write_text(f"lead,at,kind,rep\n{some_id},2018-06-01 10:00,call,ana\n"
                       "ghost,2018-06-01 10:00,call,ana\n")
    summary = imported(database_url, "touches", str(touches), "--source", "olist", "--map",
                       "lead_external_id=lead", "--map", "at=at", "--map", "kind=kind",
                       "--map", "rep=rep")
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (2, 1, 1)
    assert summary["errors"][0]["line"] == 3


def test_a_hubspot_calls_export_imports_with_the_preset_outcome_and_note(database_url,
                                                                        tmp_path):
    leads = tmp_path / "contacts.csv"
    leads.write_text("Record ID,Create Date,Became a Marketing Qualified Lead Date,"
                     "Contact owner\n101,2026-03-02 09:00,2026-03-02 09:00,ana\n")
    assert imported(database_url, "leads", str(leads), "--preset", "hubspot")["inserted"] == 1
    calls = tmp_path / "calls.csv"
    calls.write_text("Associated Contact IDs,Activity date,Activity type,Activity assigned to,"
                     "Call outcome,Call notes\n"
                     '101,2026-03-02 10:00,Call,ana,Left voicemail,"Call back Tuesday, 10am"\n'
                     "101,2026-03-03 10:00,Call,ana,Connected,\n")
    summary = imported(database_url, "touches", str(calls), "--preset", "hubspot",
                       "--source", "hubspot")
    assert (summary["inserted"], summary["rejected"]) == (2, 0), summary
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Touch.outcome, Touch.note).order_by(Touch.at)).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("voicemail", "Call back Tuesday, 10am"),
                                            ("connected", None)]
