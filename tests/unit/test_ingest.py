"""Lead and touch import (DESIGN §6): reading, mapping, presets, dates, row validation."""

import csv
import io
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.ingest import (
    LEAD_FIELDS,
    LEAD_TIMESTAMPS,
    TOUCH_FIELDS,
    FileRefused,
    ParsedFile,
    RowError,
    UnknownField,
    UsageError,
    errors_csv,
    parse_leads,
    parse_touches,
    read_table,
    resolve_mapping,
    suggest_mapping,
)

FIXTURES = Path(__file__).parent / "ingest_fixtures"
SAO_PAULO = "America/Sao_Paulo"
REASONS = ["not_a_fit", "no_budget", "duplicate"]


def _read(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / name).read_bytes()


def _leads(
    data: bytes | str, filename: str = "leads.csv", *, tz: str = SAO_PAULO, **options
) -> ParsedFile:
    """A lead file read and parsed with the mapping resolve_mapping gives it."""
    if isinstance(data, str):
        data = data.encode()
    mapping_options = {key: options.pop(key) for key in ("preset", "overrides") if key in options}
    table = read_table(data, filename)
    mapping = resolve_mapping(table.columns, **mapping_options)
    return parse_leads(table, mapping, tz=tz, **options)


def _touches(data: bytes | str, *, tz: str = SAO_PAULO, **options) -> ParsedFile:
    """A touch file read and parsed with the suggested mapping."""
    if isinstance(data, str):
        data = data.encode()
    table = read_table(data, "touches.csv")
    return parse_touches(table, resolve_mapping(table.columns, kind="touches"), tz=tz, **options)


def _utc(text: str) -> pd.Timestamp:
    """A UTC instant."""
    return pd.Timestamp(text, tz="UTC")


def _by_id(parsed: ParsedFile) -> dict[str, dict]:
    """The good rows of a lead file by external id."""
    return {row["external_id"]: row for row in parsed.frame.to_dict("records")}


def _errors(parsed: ParsedFile) -> set[tuple[int, str, str]]:
    """The errors as (line, column, reason) triples."""
    return {(error.line, error.column, error.reason) for error in parsed.errors}


# --- Olist-like MQL file in three spellings --------------------------------------------------


def test_olist_iso_file_maps_itself_and_reads_dates_as_local_midnight():
    parsed = _leads(_read("olist_mql_iso.csv"))
    assert parsed.read == 30 and parsed.rejected == 0 and parsed.errors == []
    assert parsed.supplied == {"external_id", "mql_at", "channel"}
    assert list(parsed.frame.columns) == ["external_id", "mql_at", "channel", "attributes"]
    first = parsed.frame.iloc[0]
    # 2017-10-15 00:00 does not exist in São Paulo (DST began): it moves forward to 01:00 (-02).
    assert first["mql_at"] == _utc("2017-10-15T03:00")
    assert first["attributes"] == {"landing_page_id": "968dd8baada6d46b6e134feff1a87271"}
    assert parsed.frame.iloc[1]["mql_at"] == _utc("2018-02-17T02:00")  # still summer time
    assert parsed.frame.iloc[2]["mql_at"] == _utc("2018-02-18T03:00")
    assert parsed.lines.tolist() == list(range(2, 32))


def test_olist_excel_ddmmyyyy_crlf_bom_file_gives_the_same_instants():
    iso = _leads(_read("olist_mql_iso.csv"))
    excel = _leads(_read("olist_mql_excel_ddmmyyyy_crlf.csv"))
    assert excel.rejected == 0
    assert excel.notes == ["first_contact_date: read as day-first (DD-MM-YYYY)"]
    pd.testing.assert_frame_equal(excel.frame, iso.frame)
    assert excel.lines.tolist() == iso.lines.tolist()


def test_ambiguous_ddmmyyyy_file_is_refused_naming_the_column():
    with pytest.raises(FileRefused) as refused:
        _leads(_read("olist_mql_ambiguous_ddmmyyyy.csv"), "mql.csv")
    message = str(refused.value)
    assert "mql.csv" in message and "'first_contact_date'" in message
    assert "--date-format" in message


def test_ambiguous_file_with_date_format_gives_the_iso_instants():
    iso = _by_id(_leads(_read("olist_mql_iso.csv")))
    parsed = _leads(_read("olist_mql_ambiguous_ddmmyyyy.csv"), date_format="%d-%m-%Y")
    assert parsed.read == 11 and parsed.rejected == 0 and parsed.notes == []
    for external_id, row in _by_id(parsed).items():
        assert row["mql_at"] == iso[external_id]["mql_at"]


# --- row validation ----------------------------------------------------------------------------


def test_bad_rows_are_each_reported_with_line_column_and_reason():
    parsed = _leads(_read("leads_bad_rows.csv"), rejection_reasons=REASONS)
    listed = "not_a_fit, no_budget, duplicate"
    assert _errors(parsed) == {
        (3, "lead_id", "missing external id"),
        (4, "created", "unparseable date 'yesterday' (use YYYY-MM-DD [HH:MM[:SS]], DD-MM-YYYY "
                       "or MM-DD-YYYY, or pass --date-format)"),
        (5, "mql_date", "unparseable date '2018-02-30' (use YYYY-MM-DD [HH:MM[:SS]], DD-MM-YYYY "
                        "or MM-DD-YYYY, or pass --date-format)"),
        (6, "sql_date", "'2018-03-09 18:00' is earlier than the creation date '2018-03-10 12:00' "
                        "(created)"),
        (7, "amount", "negative amount '-10'"),
        (8, "amount", "'lots' is not a number"),
        (9, "score", "'high' is not a number"),
        (10, "lead_id", "duplicate of line 2"),
        (12, "lead_id", "duplicate of line 11 (identical row)"),
        (13, "rejection_reason", f"rejection reason 'too expensive' is not in the agreement's "
                                 f"list ({listed})"),
        (14, "email", "'bob.example.com' is not an email address"),
        (15, "won_date", "date '1890-01-01' is out of range (1900 to 2199)"),
        (16, "accepted_date", "unparseable date 'someday' (use YYYY-MM-DD [HH:MM[:SS]], "
                              "DD-MM-YYYY or MM-DD-YYYY, or pass --date-format)"),
        (16, "email", "'not-an-email' is not an email address"),
        (16, "amount", "negative amount '-5'"),
        (21, "accepted_date", "unparseable date '31-31-2018' (use YYYY-MM-DD [HH:MM[:SS]], "
                              "DD-MM-YYYY or MM-DD-YYYY, or pass --date-format)"),
        (22, "", "the row has 15 cells but the header has 14 columns"),
    }  # fmt: skip
    assert len(parsed.errors) == 17
    assert [error.line for error in parsed.errors] == sorted(e.line for e in parsed.errors)
    assert parsed.lines.tolist() == [2, 11, 17, 18, 19]
    assert parsed.read == 20 and parsed.rejected == 15
    assert parsed.read == len(parsed.frame) + parsed.rejected


def test_good_rows_survive_with_canonical_values():
    leads = _by_id(_leads(_read("leads_bad_rows.csv"), rejection_reasons=REASONS))
    assert set(leads) == {"L-001", "L-010", "L-016", "L-017", "L-018"}
    first = leads["L-001"]
    assert first["created_at"] == _utc("2018-03-01T12:00")
    assert first["sql_at"] == _utc("2018-03-05T03:00")
    assert first["amount"] == 1500.5 and first["score"] == 72.0
    assert first["owner"] == "ana" and first["channel"] == "paid_search"
    assert first["rejection_reason"] is None and pd.isna(first["won_at"])
    assert first["attributes"] == {"notes": "first"}
    # A date-only stage on the creation day is not "before" a creation later that day.
    assert leads["L-016"]["sql_at"] == _utc("2018-03-12T03:00")
    assert leads["L-016"]["amount"] == 1200.0
    assert leads["L-016"]["rejected_at"] == _utc("2018-03-13T13:00")
    assert leads["L-016"]["rejection_reason"] is None  # rejected without a reason is fine
    assert leads["L-017"]["rejection_reason"] == "not_a_fit"  # "Not a fit" as the SLA spells it
    assert leads["L-018"]["created_at"] == leads["L-018"]["mql_at"] == _utc("2018-03-01T13:00")
    assert leads["L-010"]["attributes"] == {}


def test_lead_frame_dtypes_say_what_was_not_supplied():
    parsed = _leads(_read("leads_bad_rows.csv"))
    frame = parsed.frame
    assert [name for name in LEAD_FIELDS if name in frame.columns] == list(frame.columns[:-1])
    for name in LEAD_TIMESTAMPS:
        if name in frame:
            assert str(frame[name].dtype) == "datetime64[ns, UTC]"
    assert frame["score"].dtype == np.float64 and frame["amount"].dtype == np.float64
    assert frame["owner"].dtype == object and frame["rejection_reason"].tolist()[0] is None
    assert parsed.columns["external_id"] == "lead_id"
    assert parsed.columns["created_at"] == "created"


def test_rejection_reasons_are_free_text_without_an_agreement_list():
    leads = _by_id(_leads(_read("leads_bad_rows.csv")))
    assert leads["L-017"]["rejection_reason"] == "Not a fit"


# --- reading -----------------------------------------------------------------------------------


def test_semicolon_latin1_file_with_decimal_commas():
    overrides = {"external_id": "Lead ID", "created_at": "Data de criação", "email": "E-mail",
                 "region": "Região", "amount": "Valor", "name": "Nome"}  # fmt: skip
    parsed = _leads(_read("leads_semicolon_latin1.csv"), "br.csv", overrides=overrides)
    assert parsed.rejected == 0
    assert "br.csv: not UTF-8, read as Windows-1252" in parsed.notes
    assert "Data de criação: read as day-first (DD/MM/YYYY)" in parsed.notes
    leads = _by_id(parsed)
    assert leads["BR-1"]["created_at"] == _utc("2018-03-01T17:30")
    assert leads["BR-1"]["amount"] == 1234.5 and leads["BR-2"]["amount"] == 999.9
    assert leads["BR-1"]["region"] == "São Paulo" and leads["BR-1"]["name"] == "João Conceição"
    assert leads["BR-1"]["attributes"] == {"Observação": "ligar às 9h"}
    assert leads["BR-3"]["email"] is None and np.isnan(leads["BR-3"]["amount"])
    assert parsed.supplied == set(overrides)


def test_trailing_delimiters_and_delimiter_only_rows_are_ignored():
    table = read_table(_read("leads_trailing_delimiters.csv"), "x.csv")
    assert table.columns == ["Prospect ID", "Lead Source", "Country", "Converted"]
    assert table.lines.tolist() == [2, 3, 5]
    assert table.rows.iloc[1].tolist() == ["X-2", "Olark Chat", "", "0"]


def test_rows_longer_than_the_header_only_by_empty_cells_are_fine():
    table = read_table(_read("leads_ragged_rows.csv"), "x.csv")
    assert table.columns == ["Prospect ID", "Lead Source", "Country", "Converted"]
    assert table.errors == ()
    assert table.rows["Converted"].tolist() == ["1", "0", ""]
    parsed = parse_leads(table, {"external_id": ["Prospect ID"]}, tz="UTC")
    assert parsed.rejected == 0 and parsed.supplied == {"external_id"}
    assert parsed.frame["attributes"][2] == {"Lead Source": "Reference", "Country": "India"}


def test_a_quoted_multiline_cell_keeps_later_line_numbers():
    parsed = _leads(_read("leads_multiline.csv"))
    assert _errors(parsed) == {(5, "created_at", "unparseable date 'not a date' (use YYYY-MM-DD "
                                                 "[HH:MM[:SS]], DD-MM-YYYY or MM-DD-YYYY, or pass "
                                                 "--date-format)")}  # fmt: skip
    assert parsed.lines.tolist() == [2, 6]
    assert parsed.frame["attributes"][0] == {"notes": "first line\nsecond line\nthird line"}
    assert parsed.frame["attributes"][1] == {"notes": 'a "quoted" word, with a comma'}


def test_line_numbers_hold_in_the_tolerant_reader_too():
    ragged = _read("leads_multiline.csv").replace(b"\r\n", b"\n") + b"M-4,2018-03-03,x,oops\n"
    parsed = _leads(ragged.replace(b"\n", b"\r\n"))
    assert {(error.line, error.column) for error in parsed.errors} == {(5, "created_at"), (7, "")}
    assert parsed.lines.tolist() == [2, 6]


def test_blank_lines_are_skipped_and_counted_as_lines():
    table = read_table(b"\n\nid,name\n\n1,a\n   \n2,b", "x.csv")
    assert table.lines.tolist() == [5, 7]
    assert table.rows["name"].tolist() == ["a", "b"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(delimiter):
    text = delimiter.join(["id", "company", "score"]) + "\n"
    text += delimiter.join(["1", '"Acme, Inc; Ltd"', " 7 "]) + "\n"
    table = read_table(text.encode(), "x.txt")
    assert table.columns == ["id", "company", "score"]
    assert table.rows.iloc[0].tolist() == ["1", "Acme, Inc; Ltd", "7"]


def test_a_comma_in_a_header_name_does_not_fool_the_sniffer():
    table = read_table(b"Name, First;Email\nAna;ana@example.com\nBia;bia@example.com\n", "x")
    assert table.columns == ["Name, First", "Email"]


def test_xlsx_with_real_date_cells(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Lead ID", "Created", "Won", "Amount", "Owner"])
    sheet.append([1001, datetime(2018, 3, 1, 9, 30), date(2018, 3, 20), 2500.0, "ana"])
    sheet.append([])
    sheet.append([1002, datetime(2018, 3, 2, 14, 0), None, 99.5, "bia"])
    sheet.append([1003, "tomorrow", None, None, "caio"])
    sheet["C2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "leads.xlsx"
    workbook.save(path)

    table = read_table(path.read_bytes(), "leads.xlsx")
    assert table.lines.tolist() == [2, 4, 5]
    first = ["1001", "2018-03-01 09:30:00", "2018-03-20", "2500", "ana"]
    assert table.rows.iloc[0].tolist() == first
    overrides = {"external_id": "Lead ID", "created_at": "Created", "won_at": "Won",
                 "amount": "Amount", "owner": "Owner"}  # fmt: skip
    parsed = parse_leads(table, resolve_mapping(table.columns, overrides=overrides), tz=SAO_PAULO)
    assert [(error.line, error.column) for error in parsed.errors] == [(5, "Created")]
    leads = _by_id(parsed)
    assert leads["1001"]["created_at"] == _utc("2018-03-01T12:30")
    assert leads["1001"]["won_at"] == _utc("2018-03-20T03:00")
    assert leads["1002"]["amount"] == 99.5


def test_an_xlsx_named_csv_is_read_as_xlsx(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["id", "created_at"])
    workbook.active.append(["a", "2018-03-01"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table(buffer.getvalue(), "export.csv").columns == ["id", "created_at"]


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "empty.csv", "empty.csv: the file is empty"),
        (b"\r\n \n", "blank.csv", "blank.csv: the file is empty"),
        (b"id,name\n", "header.csv", "header.csv: the file has a header but no data rows"),
        (b"id,name,id\n1,a,2\n", "twice.csv", "header names column 'id' twice (columns 1 and 3)"),
        (b"abc,2018-03-01,x@y.com\n", "data.csv", "line 1 holds values such as '2018-03-01'"),
        (b"id,,name\n1,x,a\n", "nameless.csv", "column 2 holds data but has no name"),
        (b'id,name\n1,"unclosed\n', "quote.csv", "quote.csv: line 2: not valid CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls", "old.xls: Excel 97-2003 (.xls)"),
        (b"PK\x03\x04garbage", "broken.xlsx", "broken.xlsx: not a readable XLSX workbook"),
        (b"id\x00,name\n", "binary.csv", "binary.csv: not a CSV text file"),
    ],
)
def test_unreadable_files_are_refused(data, filename, expected):
    with pytest.raises(FileRefused) as refused:
        read_table(data, filename)
    assert expected in str(refused.value)


def test_an_empty_named_column_without_data_is_dropped():
    table = read_table(b"id,,name\n1,,a\n", "x.csv")
    assert table.columns == ["id", "name"]


# --- mapping -----------------------------------------------------------------------------------


def test_suggest_mapping_knows_common_names():
    assert suggest_mapping(["mql_id", "first_contact_date", "landing_page_id", "origin"]) == {
        "external_id": "mql_id",
        "mql_at": "first_contact_date",
        "channel": "origin",
    }
    assert suggest_mapping(["Record ID", "MQL Date", "Lead Source", "Contact owner"]) == {
        "external_id": "Record ID",
        "mql_at": "MQL Date",
        "owner": "Contact owner",
        "channel": "Lead Source",
    }
    closed = ["mql_id", "seller_id", "sdr_id", "sr_id", "won_date", "business_segment"]
    assert suggest_mapping(closed) == {
        "external_id": "mql_id",
        "won_at": "won_date",
        "owner": "sdr_id",
        "segment": "business_segment",
    }
    assert suggest_mapping(["Lead ID", "closed won date", "E-Mail"]) == {
        "external_id": "Lead ID", "won_at": "closed won date", "email": "E-Mail",
    }  # fmt: skip


def test_suggest_mapping_never_maps_two_fields_to_one_column():
    columns = ["id", "owner", "sdr_id", "source", "origin", "Lead ID", "created", "Create Date"]
    suggested = suggest_mapping(columns)
    assert len(set(suggested.values())) == len(suggested)
    assert suggested["owner"] == "owner"  # a column named like a field goes to that field
    assert suggested["external_id"] == "Lead ID"
    assert suggest_mapping(["lead", "when", "type"], kind="touches") == {
        "lead_external_id": "lead", "at": "when", "kind": "type",
    }  # fmt: skip


def test_first_and_last_name_columns_make_the_name():
    assert resolve_mapping(["id", "First Name", "Last Name"])["name"] == ["First Name", "Last Name"]


def test_overrides_without_a_preset_map_only_what_was_asked():
    columns = ["mql_id", "first_contact_date", "origin"]
    assert resolve_mapping(columns, overrides={"external_id": "mql_id"}) == {
        "external_id": ["mql_id"]
    }
    mapping = resolve_mapping(columns, overrides={"external_id": "MQL ID", "channel": "origin"})
    assert mapping == {"external_id": ["mql_id"], "channel": ["origin"]}


def test_overrides_join_columns_and_unmap_preset_fields():
    columns = ["Record ID", "First Name", "Last Name", "Contact owner"]
    mapping = resolve_mapping(
        columns, preset="hubspot", overrides={"owner": "", "company": "Last Name+First Name"}
    )
    assert mapping == {
        "external_id": ["Record ID"],
        "company": ["Last Name", "First Name"],
        "name": ["First Name", "Last Name"],
    }


def test_an_unknown_field_is_a_usage_error():
    with pytest.raises(UnknownField) as refused:
        resolve_mapping(["id"], overrides={"lead_score": "id"})
    assert "'lead_score'" in str(refused.value) and "external_id" in str(refused.value)
    assert isinstance(refused.value, UsageError) and isinstance(refused.value, ValueError)
    with pytest.raises(UnknownField):
        resolve_mapping(["id"], kind="touches", overrides={"owner": "id"})


def test_a_mapped_column_missing_from_the_file_refuses_it():
    with pytest.raises(FileRefused) as refused:
        resolve_mapping(["id", "created"], overrides={"mql_at": "MQL Date"}, filename="a.csv")
    assert "a.csv" in str(refused.value) and "'MQL Date'" in str(refused.value)
    table = read_table(b"id,created\n1,2018-03-01\n", "b.csv")
    with pytest.raises(FileRefused, match="b.csv: column 'mql' \\(mapped to mql_at\\)"):
        parse_leads(table, {"external_id": ["id"], "mql_at": ["mql"]}, tz="UTC")
    with pytest.raises(UnknownField):
        parse_leads(table, {"external_id": ["id"], "mql": ["created"]}, tz="UTC")


def test_a_lead_file_without_an_id_column_is_refused():
    table = read_table(b"when,who\n2018-03-01,ana\n", "c.csv")
    with pytest.raises(FileRefused, match="c.csv: no column is mapped to external_id"):
        parse_leads(table, resolve_mapping(table.columns), tz="UTC")


def test_unknown_presets_and_zones_are_usage_errors():
    with pytest.raises(UsageError, match="unknown preset 'pipedrive'"):
        resolve_mapping(["id"], preset="pipedrive")
    table = read_table(b"id\n1\n", "d.csv")
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        parse_leads(table, {"external_id": ["id"]}, tz="Mars/Olympus")


# --- presets -----------------------------------------------------------------------------------


def test_hubspot_export_with_labels_imports_without_a_mapping():
    parsed = _leads(_read("hubspot_contacts_labels.csv"), preset="hubspot")
    assert parsed.rejected == 0
    assert parsed.supplied == {
        "external_id", "created_at", "mql_at", "sql_at", "opportunity_at", "won_at", "owner",
        "channel", "company", "name", "email", "amount",
    }  # fmt: skip
    leads = _by_id(parsed)
    ana = leads["101"]
    assert ana["name"] == "Ana Silva" and ana["email"] == "ana@acme.example"
    assert ana["company"] == "Acme" and ana["owner"] == "Rita Rep"
    assert ana["channel"] == "Paid Search" and ana["amount"] == 12500.0
    assert ana["created_at"] == _utc("2018-03-01T12:15")
    assert ana["mql_at"] == _utc("2018-03-01T12:20")
    assert ana["sql_at"] == _utc("2018-03-03T14:00")
    assert ana["opportunity_at"] == _utc("2018-03-05T19:45")
    assert ana["won_at"] == _utc("2018-03-20T13:00")
    assert ana["attributes"] == {"Lifecycle Stage": "Customer", "Lead Status": "Connected"}
    assert leads["102"]["name"] == "Bruno" and leads["103"]["name"] == "Costa"
    assert leads["103"]["owner"] is None and pd.isna(leads["103"]["mql_at"])


def test_hubspot_export_with_internal_names_imports_without_a_mapping():
    parsed = _leads(_read("hubspot_contacts_internal_names.csv"), preset="hubspot")
    assert parsed.rejected == 0
    carla = _by_id(parsed)["501"]
    assert carla["name"] == "Carla Dias" and carla["company"] == "Delta"
    assert carla["created_at"] == _utc("2018-03-01T12:15")
    assert carla["won_at"] == _utc("2018-03-28T17:00")
    assert carla["owner"] == "31415" and carla["channel"] == "PAID_SEARCH"
    assert carla["amount"] == 4999.99
    assert carla["attributes"] == {"lifecyclestage": "customer"}


def test_salesforce_api_export_fills_mql_from_created_and_sql_from_converted_date():
    parsed = _leads(_read("salesforce_leads_api_names.csv"), preset="salesforce")
    assert parsed.rejected == 0
    assert parsed.columns["mql_at"] == "CreatedDate" and parsed.columns["sql_at"] == "ConvertedDate"
    leads = _by_id(parsed)
    dana = leads["00Q5e000001AbcDEAS"]
    assert dana["created_at"] == dana["mql_at"] == _utc("2018-03-01T12:00")
    assert dana["sql_at"] == _utc("2018-03-03T03:00")  # a date only: local midnight
    assert dana["name"] == "Dana Reis" and dana["segment"] == "Retail"
    assert dana["owner"] == "0055e000000XyZ1AAK" and dana["channel"] == "Web"
    assert dana["attributes"] == {"Status": "Qualified", "IsConverted": "true"}
    assert pd.isna(leads["00Q5e000001AbcEEAS"]["sql_at"])
    # Converted on the day it was created, hours later: not "before created".
    assert leads["00Q5e000001AbcFEAS"]["sql_at"] == _utc("2018-03-05T03:00")


def test_salesforce_report_export_with_labels_and_us_dates():
    parsed = _leads(_read("salesforce_leads_report_labels.csv"), preset="salesforce")
    assert parsed.rejected == 0
    assert sorted(parsed.notes) == [
        "Converted Date: read as month-first (MM/DD/YYYY)",
        "Created Date: read as month-first (MM/DD/YYYY)",
    ]
    leads = _by_id(parsed)
    dana = leads["00Q5e000001AbcDEAS"]
    assert dana["created_at"] == dana["mql_at"] == _utc("2018-03-01T12:00")
    assert dana["sql_at"] == _utc("2018-03-13T03:00")
    assert leads["00Q5e000001AbcEEAS"]["created_at"] == _utc("2018-03-14T17:30")
    assert dana["owner"] == "Rita Rep" and dana["attributes"] == {"Lead Status": "Qualified"}


def test_a_salesforce_mql_date_column_wins_over_created_date():
    columns = ["Id", "CreatedDate", "MQL_Date__c"]
    mapping = resolve_mapping(columns, preset="salesforce")
    assert mapping["mql_at"] == ["MQL_Date__c"]
    overridden = resolve_mapping(columns, preset="salesforce", overrides={"mql_at": "CreatedDate"})
    assert overridden["mql_at"] == ["CreatedDate"]


# --- dates -------------------------------------------------------------------------------------


def _one_date(value: str, **options) -> pd.Timestamp:
    """The created_at that a one-row file with `value` gives."""
    parsed = _leads(f"id,created_at\nA,{value}\n", **options)
    assert parsed.errors == []
    return parsed.frame["created_at"][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-02-01", "2018-02-01T02:00"),
        ("2018-02-01 10:00", "2018-02-01T12:00"),
        ("2018-02-01 10:00:30", "2018-02-01T12:00:30"),
        ("2018-02-01T10:00:30.250", "2018-02-01T12:00:30.250"),
        ("2018-02-01T10:00:00-03:00", "2018-02-01T13:00"),
        ("2018-02-01T10:00:00Z", "2018-02-01T10:00"),
        ("2018-02-01T10:00:00.000+0000", "2018-02-01T10:00"),
        ("2018/02/01 10:00", "2018-02-01T12:00"),
        ("2018-2-1", "2018-02-01T02:00"),
        ("2018-02-17 23:30", "2018-02-18T01:30"),  # the repeated hour: first occurrence
        ("2017-10-15 00:30", "2017-10-15T03:00"),  # in the skipped hour: its end, 01:00 (-02)
    ],
)
def test_date_spellings(value, expected):
    assert _one_date(value) == _utc(expected)


def test_a_lone_day_month_value_that_fits_one_reading_is_read_so():
    assert _one_date("25.12.2018 18:45") == _utc("2018-12-25T20:45")
    assert _one_date("12/25/2018 6:45 PM") == _utc("2018-12-25T20:45")
    assert _one_date("05-05-2018") == _utc("2018-05-05T03:00")  # both readings agree


def test_contradictory_day_month_values_refuse_the_file():
    with pytest.raises(FileRefused) as refused:
        _leads("id,mql\nA,25-03-2018\nB,03-25-2018\n", "mixed.csv")
    message = str(refused.value)
    assert "mixed.csv" in message and "'mql'" in message
    assert "'25-03-2018', line 2" in message and "'03-25-2018', line 3" in message


def test_date_format_applies_to_every_date_column():
    parsed = _leads(
        "id,created_at,won_at\nA,01-02-2018 10:00,03-02-2018 09:00\nB,2018-02-01 10:00,\n",
        date_format="%d-%m-%Y %H:%M",
    )
    assert parsed.frame["won_at"][0] == _utc("2018-02-03T11:00")
    assert _errors(parsed) == {
        (3, "created_at", "unparseable date '2018-02-01 10:00' (expected %d-%m-%Y %H:%M)")
    }


def test_a_date_format_that_fits_no_value_refuses_the_file():
    with pytest.raises(FileRefused) as refused:
        _leads("id,created_at\nA,2018-02-01\n", "iso.csv", date_format="%d-%m-%Y")
    message = str(refused.value)
    assert "iso.csv" in message and "'created_at'" in message and "%d-%m-%Y" in message


def test_a_date_format_with_an_offset_directive():
    value = _one_date("01-02-2018 10:00 +0100", date_format="%d-%m-%Y %H:%M %z")
    assert value == _utc("2018-02-01T09:00")


def test_an_invalid_date_format_is_a_usage_error():
    with pytest.raises(UsageError, match="--date-format '%Q'"):
        _leads("id,created_at\nA,2018-02-01\n", date_format="%Q")


# --- touches -----------------------------------------------------------------------------------


def test_touch_rows_are_parsed_and_checked():
    parsed = _touches(_read("touches.csv"))
    assert _errors(parsed) == {
        (6, "lead_id", "missing lead id"),
        (7, "timestamp", "missing touch time"),
        (8, "timestamp", "unparseable date 'soon' (use YYYY-MM-DD [HH:MM[:SS]], DD-MM-YYYY or "
                         "MM-DD-YYYY, or pass --date-format)"),
        (9, "type", "unknown kind 'fax' (use call, email, meeting or other)"),
        (10, "automated", "'maybe' is not true or false (use true, false, yes, no, 1 or 0)"),
    }  # fmt: skip
    assert parsed.read == 10 and parsed.rejected == 5
    frame = parsed.frame
    assert list(frame.columns) == list(TOUCH_FIELDS)
    assert parsed.lines.tolist() == [2, 3, 4, 5, 11]
    assert frame["kind"].tolist() == ["call", "call", "email", "other", "meeting"]
    assert frame["automated"].tolist() == [False, False, True, False, True]
    assert frame["automated"].dtype == bool
    assert frame["rep"].tolist() == ["ana", "ana", "bia", "bia", None]
    assert frame["at"].tolist()[:2] == [_utc("2018-03-01T13:00"), _utc("2018-03-01T13:05")]
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]"


def test_touches_default_kind_and_automated_when_unmapped():
    parsed = _touches("lead,when\nL-1,2018-03-01 10:00\n")
    assert parsed.supplied == {"lead_external_id", "at"}
    assert parsed.frame.iloc[0].to_dict() == {
        "lead_external_id": "L-1", "at": _utc("2018-03-01T13:00"), "kind": "other", "rep": None,
        "automated": False, "outcome": None, "note": None,
    }  # fmt: skip


def test_a_touch_file_needs_lead_and_time_columns():
    table = read_table(b"lead,rep\nL-1,ana\n", "t.csv")
    with pytest.raises(FileRefused, match="no column is mapped to at"):
        parse_touches(table, resolve_mapping(table.columns, kind="touches"), tz="UTC")
    # A preset maps a CRM's activity export: this file has none of its columns.
    assert resolve_mapping(table.columns, kind="touches", preset="hubspot") == {}
    with pytest.raises(UsageError, match="unknown preset 'pipedrive'"):
        resolve_mapping(table.columns, kind="touches", preset="pipedrive")


# --- errors download ---------------------------------------------------------------------------


def test_errors_csv_lists_every_error_and_defuses_formulas():
    text = errors_csv([RowError(3, "amount", "negative amount '-10'"), RowError(4, "=cmd", "x")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["line", "column", "reason"],
        ["3", "amount", "negative amount '-10'"],
        ["4", "'=cmd", "x"],
    ]
