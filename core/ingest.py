"""Lead and touch files (CSV, XLSX) -> validated canonical rows plus row-level errors (DESIGN §6).

Pure: no streamlit, no database. `read_table` turns a file's bytes into text cells with the
physical line of every row; `resolve_mapping` says which columns feed which canonical field;
`parse_leads` and `parse_touches` parse and check every row, vectorized, and return the good rows
as a DataFrame and every problem of the bad rows as a `RowError`. The upsert lives in core.services.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

__all__ = [
    "LEAD_FIELDS",
    "LEAD_TIMESTAMPS",
    "PRESETS",
    "TOUCH_FIELDS",
    "TOUCH_KINDS",
    "FileRefused",
    "ParsedFile",
    "RowError",
    "Table",
    "UnknownField",
    "UsageError",
    "errors_csv",
    "parse_leads",
    "parse_touches",
    "read_table",
    "resolve_mapping",
    "suggest_mapping",
]

LEAD_FIELDS: tuple[str, ...] = (
    "external_id", "created_at", "mql_at", "accepted_at", "rejected_at", "rejection_reason",
    "sql_at", "opportunity_at", "won_at", "lost_at", "owner", "channel", "segment", "region",
    "country", "company", "name", "email", "score", "amount",
)  # fmt: skip
LEAD_TIMESTAMPS: tuple[str, ...] = (
    "created_at", "mql_at", "accepted_at", "rejected_at", "sql_at", "opportunity_at", "won_at",
    "lost_at",
)  # fmt: skip
LEAD_NUMBERS: tuple[str, ...] = ("score", "amount")
TOUCH_FIELDS: tuple[str, ...] = ("lead_external_id", "at", "kind", "rep", "automated")
TOUCH_KINDS = ("call", "email", "meeting", "other")
PRESETS = ("hubspot", "salesforce")
KINDS = ("leads", "touches")

_FIELDS = {"leads": LEAD_FIELDS, "touches": TOUCH_FIELDS}
_REQUIRED = {"leads": ("external_id",), "touches": ("lead_external_id", "at")}
_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})

# Synonyms in order of preference; compared after `_normalise`, so "Lead ID" matches "lead_id".
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {
        "external_id": (
            "external_id", "lead_id", "id", "record_id", "hs_object_id", "mql_id", "prospect_id",
            "contact_id", "lead_number",
        ),
        "created_at": (
            "created_at", "created", "create_date", "created_date", "creation_date",
            "date_created", "created_on",
        ),
        "mql_at": (
            "mql_at", "mql_date", "mql", "first_contact_date", "marketing_qualified_date",
            "became_a_marketing_qualified_lead_date",
            "hs_lifecyclestage_marketingqualifiedlead_date",
        ),
        "accepted_at": (
            "accepted_at", "accepted_date", "accepted", "sal_at", "sal_date",
            "sales_accepted_date",
        ),
        "rejected_at": (
            "rejected_at", "rejected_date", "rejected", "rejection_date", "disqualified_date",
        ),
        "rejection_reason": (
            "rejection_reason", "reject_reason", "rejected_reason", "disqualification_reason",
            "disqualified_reason",
        ),
        "sql_at": (
            "sql_at", "sql_date", "sales_qualified_date", "became_a_sales_qualified_lead_date",
            "hs_lifecyclestage_salesqualifiedlead_date", "converted_date",
        ),
        "opportunity_at": (
            "opportunity_at", "opportunity_date", "opportunity_created_date",
            "became_an_opportunity_date", "hs_lifecyclestage_opportunity_date",
        ),
        "won_at": (
            "won_at", "won_date", "closed_won_date", "close_won_date", "became_a_customer_date",
            "hs_lifecyclestage_customer_date", "customer_date",
        ),
        "lost_at": ("lost_at", "lost_date", "closed_lost_date", "close_lost_date"),
        "owner": (
            "owner", "lead_owner", "contact_owner", "owner_id", "hubspot_owner",
            "hubspot_owner_id", "sdr_id", "sdr", "rep", "sales_rep", "sales_agent", "assigned_to",
        ),
        "channel": (
            "channel", "lead_source", "source", "origin", "original_source",
            "hs_analytics_source", "lead_origin",
        ),
        "segment": ("segment", "business_segment", "industry", "vertical", "market_segment"),
        "region": ("region", "sales_region", "territory", "regional_office"),
        "country": ("country", "country_region", "country_code"),
        "company": (
            "company", "company_name", "account", "account_name", "organization", "organisation",
        ),
        "name": ("name", "full_name", "contact_name", "lead_name"),
        "email": ("email", "email_address", "e_mail", "mail"),
        "score": ("score", "lead_score", "hubspot_score", "mql_score"),
        "amount": (
            "amount", "deal_amount", "recent_deal_amount", "deal_value", "close_value",
            "opportunity_amount", "value",
        ),
    },
    "touches": {
        "lead_external_id": (
            "lead_external_id", "lead_id", "external_id", "mql_id", "record_id", "contact_id",
            "lead", "who_id", "id",
        ),
        "at": (
            "at", "timestamp", "touched_at", "occurred_at", "activity_date", "activity_time",
            "date", "datetime", "time", "created_at", "created_date", "when",
        ),
        "kind": (
            "kind", "type", "activity_type", "touch_type", "engagement_type", "task_type",
            "channel",
        ),
        "rep": (
            "rep", "owner", "sales_rep", "user", "owner_id", "assigned_to", "sdr_id", "agent",
            "created_by",
        ),
        "automated": ("automated", "is_automated", "auto", "automatic", "sequence"),
    },
}  # fmt: skip
_FIRST_LAST_NAMES = (("first_name", "last_name"), ("given_name", "family_name"))

# Preset columns: field -> alternatives, each a group of columns (joined, for a name in two parts).
_PRESET_COLUMNS: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "hubspot": {
        "external_id": (("Record ID",), ("hs_object_id",)),
        "created_at": (("Create Date",), ("createdate",)),
        "mql_at": (
            ("Became a Marketing Qualified Lead Date",),
            ("hs_lifecyclestage_marketingqualifiedlead_date",),
        ),
        "sql_at": (
            ("Became a Sales Qualified Lead Date",),
            ("hs_lifecyclestage_salesqualifiedlead_date",),
        ),
        "opportunity_at": (
            ("Became an Opportunity Date",), ("hs_lifecyclestage_opportunity_date",),
        ),
        "won_at": (("Became a Customer Date",), ("hs_lifecyclestage_customer_date",)),
        "owner": (("Contact owner",), ("hubspot_owner_id",), ("HubSpot Owner",)),
        "channel": (("Original Source",), ("hs_analytics_source",)),
        "country": (("Country/Region",), ("country",)),
        "company": (("Company Name",), ("company",)),
        "name": (("First Name", "Last Name"), ("firstname", "lastname")),
        "email": (("Email",), ("email",)),
        "amount": (("Recent Deal Amount",), ("recent_deal_amount",)),
    },
    "salesforce": {
        "external_id": (("Id",), ("Lead ID",)),
        "created_at": (("CreatedDate",), ("Created Date",)),
        "mql_at": (("MQL Date",), ("mql_at",)),
        "sql_at": (("ConvertedDate",), ("Converted Date",)),
        "owner": (("OwnerId",), ("Lead Owner",), ("Owner ID",)),
        "channel": (("LeadSource",), ("Lead Source",)),
        "segment": (("Industry",),),
        "country": (("Country",),),
        "company": (("Company",),),
        "name": (("Name",), ("FirstName", "LastName"), ("First Name", "Last Name")),
        "email": (("Email",),),
    },
}  # fmt: skip

_KIND_SYNONYMS = {
    "call": (
        "call", "calls", "phone", "phonecall", "loggedcall", "outboundcall", "inboundcall",
        "voicemail", "dial",
    ),
    "email": ("email", "emails", "mail", "sentemail", "emailsent", "outboundemail", "listemail"),
    "meeting": ("meeting", "meetings", "meet", "demo", "visit", "videocall", "appointment"),
    "other": ("other", "note", "task", "sms", "text", "linkedin", "chat", "whatsapp", "social"),
}  # fmt: skip
_KIND_BY_NAME = {name: kind for kind, names in _KIND_SYNONYMS.items() for name in names}
_TRUE = ("true", "yes", "y", "t", "1", "1.0")
_FALSE = ("false", "no", "n", "f", "0", "0.0", "")

_XLSX_EXTENSIONS = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_DELIMITERS = (",", ";", "\t", "|")
_QUOTE, _NEWLINE = ord('"'), ord("\n")

# A header cell that looks like a value means the file has no header row.
_VALUE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*|[^@\s]+@[^@\s]+\.[^@\s]+")
_NUMBER_LIKE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")

# Patterns run by pyarrow (RE2), where \d and \s mean ASCII digits and spaces.
_LOOSE_DATE = (
    r"^(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})[-/.](?P<c>\d{1,4})"
    r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,9})?)?"
    r"\s*(?P<p>[AaPp]\.?[Mm]\.?)?\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_TIME_DIRECTIVES = re.compile(r"%[HIMSXTRcp]")
_ZONE_DIRECTIVES = re.compile(r"%[zZ]")
_EARLIEST = pd.Timestamp("1900-01-01")
_LATEST = pd.Timestamp("2200-01-01")
# Far-off dates are clipped to these (inside datetime64[ns]) and then reported as out of range.
_FLOOR = pd.Timestamp("1804-01-01")
_CEILING = pd.Timestamp("2248-01-01")
_ISO_HINT = "use YYYY-MM-DD [HH:MM[:SS]], DD-MM-YYYY or MM-DD-YYYY, or pass --date-format"

_CURRENCY = "R\\$|US\\$|[\\s\u00a0'’$€£¥]"
_DECIMAL_COMMA = r"^[-+]?(?:\d{1,3}(?:\.\d{3})+,\d*|\d+,(?:\d{1,2}|\d{4,}))$"
_THOUSANDS_COMMA = r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"
_EITHER_COMMA = r"^[-+]?\d{1,3},\d{3}$"
_PLAIN_NUMBER = r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
_EMAIL = r"^[^@\s]+@[^@\s]+$"


# --- errors and results ----------------------------------------------------------------------


class UsageError(ValueError):
    """The command was called wrongly (unknown field, preset or zone, bad format): exit 2."""


class UnknownField(UsageError):
    """A mapping names a field that is not canonical; the message lists the allowed ones."""


class FileRefused(ValueError):
    """The whole file is refused and nothing is imported: exit 1. Names the file and the column."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: physical line (header = 1), the file's column ("" if none), why."""

    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class Table:
    """A file's cells as stripped text ("" when empty), with the physical line of every row."""

    columns: list[str]
    rows: pd.DataFrame
    lines: np.ndarray
    filename: str
    errors: tuple[RowError, ...] = ()  # rows the reader could not fit to the header
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFile:
    """Good rows as canonical fields, and every problem of the rejected rows."""

    frame: pd.DataFrame
    lines: np.ndarray
    errors: list[RowError]
    read: int
    rejected: int
    supplied: frozenset[str]
    notes: list[str]
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file column(s) it read


# --- reading ---------------------------------------------------------------------------------


def read_table(data: bytes, filename: str) -> Table:
    """The cells of a CSV or XLSX file as text, with the physical line of every row."""
    if data.startswith(_OLE_MAGIC):
        raise FileRefused(
            f"{filename}: Excel 97-2003 (.xls) files are not supported; save it as .xlsx or .csv"
        )
    if data.startswith(_ZIP_MAGIC) or filename.lower().endswith(_XLSX_EXTENSIONS):
        return _read_xlsx(data, filename)
    return _read_csv(data, filename)


class _Grid(NamedTuple):
    """Raw cells before the header is checked: positional columns, lines, misfit rows."""

    header: list[str]
    header_line: int
    cells: pd.DataFrame
    lines: np.ndarray
    misfits: list[RowError]


def _read_csv(data: bytes, filename: str) -> Table:
    """A delimited text file as a Table."""
    text, encoding = _decode(data)
    if "\x00" in text:
        raise FileRefused(f"{filename}: not a CSV text file or an XLSX workbook")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise FileRefused(f"{filename}: the file is empty")
    delimiter = _sniff_delimiter(text)
    grid = _fast_grid(text, delimiter) or _slow_grid(text, delimiter, filename)
    notes = () if encoding == "utf-8" else (f"{filename}: not UTF-8, read as {encoding}",)
    return _table(grid, filename, notes)


def _decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    for encoding, name in (("utf-8", "utf-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(encoding), name
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "Latin-1"


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header, and the most lines after it the same way."""
    head = [re.sub(r'"[^"]*"', "", line) for line in text.split("\n", 20)[:20] if line.strip()]
    header = head[0] if head else ""

    def fit(delimiter: str) -> tuple[bool, int, int]:
        width = header.count(delimiter)
        return width > 0, sum(line.count(delimiter) == width for line in head), width

    best = max(_DELIMITERS, key=fit)
    return best if header.count(best) else ","


class _Spans(NamedTuple):
    """Where the non-empty records of a CSV text are: byte start, end and physical line."""

    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    quoted_newlines: bool  # some cell holds a line break


def _record_spans(raw: bytes) -> _Spans | None:
    """The records of a CSV text; a newline inside quotes is data. None if quotes are unbalanced."""
    buffer = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buffer == _NEWLINE)
    quotes = np.flatnonzero(buffer == _QUOTE)
    if len(quotes) % 2:
        return None  # an unclosed or stray quote: the csv module says which
    outside = np.searchsorted(quotes, newlines) % 2 == 0
    separators = newlines[outside]
    starts = np.concatenate(([0], separators + 1))
    ends = np.concatenate((separators, [len(raw)]))
    lines = np.concatenate(([1], np.flatnonzero(outside) + 2))
    keep = ends > starts
    return _Spans(starts[keep], ends[keep], lines[keep], not outside.all())


def _split_record(text: str, delimiter: str) -> list[str]:
    """The cells of one CSV record."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _first_filled(
    raw: bytes, starts: np.ndarray, ends: np.ndarray, delimiter: str
) -> tuple[int, list[str]] | None:
    """The index and cells of the first record with a non-blank cell (the header)."""
    for index, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        cells = _split_record(raw[start:end].decode("utf-8"), delimiter)
        if "".join(cells).strip():
            return index, cells
    return None


def _fast_grid(text: str, delimiter: str) -> _Grid | None:
    """The cells via pyarrow's CSV reader, or None when the file needs the tolerant reader."""
    raw = text.encode("utf-8")
    spans = _record_spans(raw)
    if spans is None:
        return None
    starts, ends, lines, quoted_newlines = spans
    found = _first_filled(raw, starts, ends, delimiter)
    if found is None:
        return None
    index, header = found
    names = [f"c{position}" for position in range(len(header))]
    body = raw[int(ends[index]) + 1 :]
    if not body.strip():
        return None
    try:
        arrow = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=quoted_newlines, ignore_empty_lines=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, csv.Error):
        return None
    data_lines = lines[index + 1 :]
    if arrow.num_rows != len(data_lines):
        return None  # stray quotes fooled the line scan: let the csv module count lines
    cells = arrow.to_pandas()
    return _Grid(header, int(lines[index]), cells, data_lines.astype(np.int64), [])


def _slow_grid(text: str, delimiter: str, filename: str) -> _Grid:
    """The cells via the csv module: tolerant of ragged rows, counts lines exactly."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        for record in reader:
            if record:  # blank lines come as []; rows of empty cells are dropped later
                records.append(record)
                lines.append(previous + 1)
            previous = reader.line_num
    except csv.Error as error:
        raise FileRefused(f"{filename}: line {previous + 1}: not valid CSV ({error})") from None
    return _grid_from_records(records, lines)


def _grid_from_records(records: list[list[str]], lines: list[int]) -> _Grid:
    """A grid from rows of cells: short rows padded, long rows cut (a misfit when data is cut)."""
    first = next((index for index, cells in enumerate(records) if "".join(cells).strip()), None)
    if first is None:
        return _Grid([], 0, pd.DataFrame(), np.array([], dtype=np.int64), [])
    header, rows, lines = records[first], records[first + 1 :], lines[first:]
    width = len(header)
    misfits = [
        RowError(line, "", f"the row has {len(row)} cells but the header has {width} columns")
        for line, row in zip(lines[1:], rows, strict=True)
        if len(row) > width and "".join(row[width:]).strip()
    ]
    fitted = [row if len(row) == width else (row + [""] * width)[:width] for row in rows]
    columns = list(zip(*fitted, strict=True)) if fitted else [() for _ in range(width)]
    names = [f"c{position}" for position in range(width)]
    arrays = [pa.array(column, type=pa.string()) for column in columns]
    cells = pa.Table.from_arrays(arrays, names=names).to_pandas()
    return _Grid(header, lines[0], cells, np.array(lines[1:], dtype=np.int64), misfits)


def _read_xlsx(data: bytes, filename: str) -> Table:
    """The first sheet of a workbook as a Table; lines are sheet row numbers."""
    import openpyxl  # imported here: only XLSX uploads need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds of errors for a damaged file
        raise FileRefused(f"{filename}: not a readable XLSX workbook ({error})") from None
    try:
        if not workbook.worksheets:
            raise FileRefused(f"{filename}: the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong sheet size
        records, lines = [], []
        for number, row in enumerate(sheet.iter_rows(), start=1):
            cells = [_cell_text(cell) for cell in row]
            if "".join(cells).strip():
                records.append(cells)
                lines.append(number)
    finally:
        workbook.close()
    if not records:
        raise FileRefused(f"{filename}: the first sheet is empty")
    return _table(_grid_from_records(records, lines), filename, ())


def _cell_text(cell: Any) -> str:
    """An XLSX cell as the text a CSV export would hold; dates in ISO form."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0) and not _shows_time(getattr(cell, "number_format", "")):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float: an id of 12345 must not become "12345.0".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _shows_time(number_format: str) -> bool:
    """Whether an Excel number format displays a time of day."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]', "", number_format or "").lower()
    return "h" in bare or "s" in bare


def _table(grid: _Grid, filename: str, notes: tuple[str, ...]) -> Table:
    """A checked Table: named, stripped columns without blank rows."""
    if not grid.header:
        raise FileRefused(f"{filename}: the file is empty")
    names = [name.strip() for name in grid.header]
    misfit_lines = [misfit.line for misfit in grid.misfits]
    cells = grid.cells.apply(lambda column: column.str.strip()) if len(grid.cells) else grid.cells
    keep = [position for position, name in enumerate(names) if name or _has_data(cells, position)]
    for position in keep:
        if not names[position]:
            raise FileRefused(
                f"{filename}: column {position + 1} holds data but has no name in "
                f"the header (line {grid.header_line})"
            )
    _check_header({position + 1: names[position] for position in keep}, grid.header_line, filename)
    names = [names[position] for position in keep]
    cells = cells[[f"c{position}" for position in keep]]
    cells.columns = names
    filled = (cells != "").any(axis=1).to_numpy() | np.isin(grid.lines, misfit_lines)
    if not filled.any():
        raise FileRefused(f"{filename}: the file has a header but no data rows")
    rows = cells[filled].reset_index(drop=True)
    return Table(names, rows, grid.lines[filled], filename, tuple(grid.misfits), notes)


def _has_data(cells: pd.DataFrame, position: int) -> bool:
    """Whether a positional column has a non-empty cell."""
    return bool(len(cells)) and bool((cells[f"c{position}"] != "").any())


def _check_header(names: dict[int, str], line: int, filename: str) -> None:
    """Refuse a header with repeated names, or a first line that holds values, not names."""
    seen: dict[str, int] = {}
    for position, name in names.items():
        if name in seen:
            raise FileRefused(
                f"{filename}: the header names column '{name}' twice (columns "
                f"{seen[name]} and {position}); rename one"
            )
        seen[name] = position
    looks_like_data = [name for name in names.values() if _VALUE_LIKE.fullmatch(name)]
    if looks_like_data or (names and all(_NUMBER_LIKE.fullmatch(n) for n in names.values())):
        example = (looks_like_data or list(names.values()))[0]
        raise FileRefused(
            f"{filename}: line {line} holds values such as '{example}', not column "
            "names; the first line must be a header"
        )


# --- mapping ---------------------------------------------------------------------------------


def _normalise(name: str) -> str:
    """A column name compared loosely: case, spaces, punctuation and Salesforce's "__c" ignored."""
    name = name.strip().casefold()
    name = name.removesuffix("__c")
    return re.sub(r"[\W_]+", "", name)


def _fields_of(kind: str) -> tuple[str, ...]:
    """The canonical fields of a kind of file."""
    if kind not in _FIELDS:
        raise UsageError(f"unknown kind of file '{kind}'; use one of: {', '.join(KINDS)}")
    return _FIELDS[kind]


def suggest_mapping(columns: list[str], kind: str = "leads") -> dict[str, str]:
    """Canonical field -> column, by loose name and common synonyms; one field per column."""
    fields = _fields_of(kind)
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(_normalise(column), column)
    suggested: dict[str, str] = {}
    used: set[str] = set()
    for field_name in fields:  # a column named exactly like a field goes to that field first
        column = by_name.get(_normalise(field_name))
        if column is not None:
            suggested[field_name] = column
            used.add(column)
    for field_name in fields:
        if field_name in suggested:
            continue
        for synonym in _SYNONYMS[kind][field_name]:
            column = by_name.get(_normalise(synonym))
            if column is not None and column not in used:
                suggested[field_name] = column
                used.add(column)
                break
    return {name: suggested[name] for name in fields if name in suggested}


def resolve_mapping(
    columns: list[str],
    *,
    kind: str = "leads",
    preset: str | None = None,
    overrides: Mapping[str, str] = _NO_OVERRIDES,
    filename: str = "",
) -> dict[str, list[str]]:
    """Field -> columns: the preset's or the suggested ones, then `--map FIELD=COLUMN` overrides.

    With overrides and no preset, only the overrides are mapped. An override with an empty column
    unmaps its field; "A+B" joins two columns with a space (e.g. first and last name).
    """
    fields = _fields_of(kind)
    chosen = {
        name: _override_columns(name, value, columns, fields, filename)
        for name, value in overrides.items()
    }
    if preset is not None:
        mapping = _preset_mapping(columns, preset, kind)
    elif overrides:
        mapping = {}
    else:
        mapping = _suggested_mapping(columns, kind)
    mapping.update(chosen)
    if preset == "salesforce" and "mql_at" not in mapping and "created_at" in mapping:
        mapping["mql_at"] = list(mapping["created_at"])
    return {name: mapping[name] for name in fields if mapping.get(name)}


def _override_columns(
    field_name: str, value: str, columns: list[str], fields: tuple[str, ...], filename: str
) -> list[str]:
    """The columns of one `--map FIELD=COLUMN`: exact name, else one loosely equal, else A+B."""
    if field_name not in fields:
        raise UnknownField(
            f"unknown field '{field_name}' in --map; the fields are: {', '.join(fields)}"
        )
    value = value.strip()
    if not value:
        return []
    found = _find_column(value, columns)
    if found is not None:
        return [found]
    parts = [_find_column(part.strip(), columns) for part in value.split("+")]
    if len(parts) > 1 and all(parts):
        return [part for part in parts if part is not None]
    where = f"{filename}: " if filename else ""
    raise FileRefused(
        f"{where}column '{value}' (from --map {field_name}={value}) is not in the "
        f"file; its columns are: {', '.join(columns)}"
    )


def _find_column(name: str, columns: list[str]) -> str | None:
    """The column called `name`, or the only column whose loose name matches it."""
    if name in columns:
        return name
    loose = [column for column in columns if _normalise(column) == _normalise(name)]
    return loose[0] if len(loose) == 1 else None


def _preset_mapping(columns: list[str], preset: str, kind: str) -> dict[str, list[str]]:
    """The preset's fields whose columns (labels or internal names) the file has."""
    if preset not in _PRESET_COLUMNS:
        raise UsageError(f"unknown preset '{preset}'; use one of: {', '.join(PRESETS)}")
    if kind != "leads":
        raise UsageError(f"the {preset} preset maps lead files, not {kind}")
    by_name = {_normalise(column): column for column in reversed(columns)}
    mapping: dict[str, list[str]] = {}
    for field_name, alternatives in _PRESET_COLUMNS[preset].items():
        for group in alternatives:
            present = [by_name[_normalise(name)] for name in group if _normalise(name) in by_name]
            if present:
                mapping[field_name] = present
                break
    return mapping


def _suggested_mapping(columns: list[str], kind: str) -> dict[str, list[str]]:
    """suggest_mapping as lists, with a name built from first and last name columns if need be."""
    mapping = {name: [column] for name, column in suggest_mapping(columns, kind).items()}
    if kind == "leads" and "name" not in mapping:
        used = {column for group in mapping.values() for column in group}
        free = {_normalise(column): column for column in columns if column not in used}
        for first, last in _FIRST_LAST_NAMES:
            if _normalise(first) in free and _normalise(last) in free:
                mapping["name"] = [free[_normalise(first)], free[_normalise(last)]]
                break
    return mapping


# --- row problems ----------------------------------------------------------------------------


class _Problems:
    """Row problems found so far; a row with any problem is rejected."""

    def __init__(self, table: Table):
        self.lines = table.lines
        self.bad = np.zeros(len(table.lines), dtype=bool)
        self.found: list[tuple[int, str, str]] = []
        self.order = {column: position for position, column in enumerate(table.columns)}
        for error in table.errors:
            self.add(np.searchsorted(self.lines, [error.line]), error.column, error.reason)

    def add(self, positions: np.ndarray, column: str, reasons: str | Sequence[str]) -> None:
        """Record one problem for each row position."""
        if not len(positions):
            return
        if isinstance(reasons, str):
            reasons = [reasons] * len(positions)
        self.bad[positions] = True
        self.found.extend(
            zip(self.lines[positions].tolist(), [column] * len(positions), reasons, strict=True)
        )

    def row_errors(self) -> list[RowError]:
        """Every problem once, by line and then by the column's place in the file."""
        unique = dict.fromkeys(self.found)
        place = self.order
        ordered = sorted(unique, key=lambda item: (item[0], place.get(item[1].split(" + ")[0], -1)))
        return [RowError(line, column, reason) for line, column, reason in ordered]


def _check_mapping(
    table: Table, mapping: Mapping[str, Sequence[str]], kind: str
) -> dict[str, list[str]]:
    """The mapping without empty entries; refuse unknown fields and columns not in the file."""
    fields = _fields_of(kind)
    clean: dict[str, list[str]] = {}
    for name, columns in mapping.items():
        if name not in fields:
            raise UnknownField(f"unknown field '{name}'; the fields are: {', '.join(fields)}")
        columns = [columns] if isinstance(columns, str) else list(columns)
        for column in columns:
            if column not in table.columns:
                raise FileRefused(
                    f"{table.filename}: column '{column}' (mapped to {name}) is not "
                    f"in the file; its columns are: {', '.join(table.columns)}"
                )
        if columns:
            clean[name] = columns
    for name in _REQUIRED[kind]:
        if name not in clean:
            raise FileRefused(
                f"{table.filename}: no column is mapped to {name}; pass --map {name}=COLUMN"
            )
    return clean


def _zone(tz: str) -> str:
    """The IANA zone name, checked."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone '{tz}'; use an IANA name such as America/Sao_Paulo"
        ) from None
    return tz


# --- values ----------------------------------------------------------------------------------


def _arrow(values: pd.Series) -> pa.Array:
    """Text values as a pyarrow string array (no copy when they already live in arrow)."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Whether each value contains a match of the RE2 `pattern` (anchored ones match whole)."""
    return _numpy(pc.match_substring_regex(text, pattern))


def _numpy(array: pa.Array) -> np.ndarray:
    """A pyarrow array without nulls as a numpy array."""
    return array.to_numpy(zero_copy_only=False)


def _filled(values: pd.Series) -> np.ndarray:
    """Which cells hold a value (are not "")."""
    return _numpy(pc.not_equal(_arrow(values), ""))


def _label(columns: Sequence[str]) -> str:
    """How errors name a field's columns."""
    return " + ".join(columns)


def _text_of(table: Table, columns: Sequence[str]) -> pd.Series:
    """The text a field reads: one column, or several joined by a space."""
    values = table.rows[columns[0]]
    for column in columns[1:]:
        values = values.str.cat(table.rows[column], sep=" ")
    if len(columns) > 1:
        values = values.str.replace(r" {2,}", " ", regex=True).str.strip()
    return values.reset_index(drop=True)


def _optional_text(values: pd.Series) -> pd.Series:
    """Python str per row, None where empty (object dtype)."""
    text = values.to_numpy(dtype=object)
    text[~_filled(values)] = None
    return pd.Series(text, dtype=object)


def _bad_reasons(values: pd.Series, positions: np.ndarray, template: str) -> list[str]:
    """One reason per bad value, `template` formatted with the value as {value!r}-like quotes."""
    if not len(positions):
        return []
    return [template.format(value=value) for value in values.iloc[positions].tolist()]


class _Dates(NamedTuple):
    """A parsed date column: UTC instants (NaT = not supplied or bad) and which held no time."""

    utc: np.ndarray  # datetime64[ns], UTC
    date_only: np.ndarray  # bool


class _DateColumn:
    """One date column being parsed: its text, the instants so far and which are done."""

    def __init__(self, values: pd.Series, label: str, reader: _Reader):
        self.values = values
        self.label = label
        self.reader = reader
        self.given = _filled(values)
        self.utc = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
        self.date_only = np.zeros(len(values), dtype=bool)
        self.done = np.zeros(len(values), dtype=bool)

    def refuse(self, message: str) -> FileRefused:
        """The error that refuses the whole file because of this column."""
        return FileRefused(f"{self.reader.table.filename}: column '{self.label}' {message}")


def _parse_dates(values: pd.Series, label: str, reader: _Reader) -> _Dates:
    """Dates of one column in UTC; row errors for values that are not dates."""
    column = _DateColumn(values, label, reader)
    if reader.date_format is not None:
        _parse_with_format(column, reader.date_format)
        hint = f"expected {reader.date_format}"
    else:
        _parse_iso(column)
        if (column.given & ~column.done).any():
            _parse_loose(column)
        hint = _ISO_HINT
    utc, done = column.utc, column.done
    out_of_range = np.flatnonzero(done & ((utc < _EARLIEST.asm8) | (utc >= _LATEST.asm8)))
    utc[out_of_range] = np.datetime64("NaT")
    reader.problems.add(
        out_of_range,
        label,
        _bad_reasons(values, out_of_range, "date '{value}' is out of range (1900 to 2199)"),
    )
    unparsed = np.flatnonzero(column.given & ~done)
    reader.problems.add(
        unparsed, label, _bad_reasons(values, unparsed, f"unparseable date '{{value}}' ({hint})")
    )
    return _Dates(utc, column.date_only)


def _utc_ns(naive_utc: pd.Series) -> np.ndarray:
    """Naive UTC datetimes as datetime64[ns]; far-off ones clipped, to be reported out of range."""
    return naive_utc.clip(_FLOOR, _CEILING).dt.as_unit("ns").to_numpy()


def _localize(naive: pd.Series, zone: str) -> np.ndarray:
    """Wall-clock times in `zone` -> UTC ns; a DST gap moves forward, a fold takes the first."""
    aware = naive.clip(_FLOOR, _CEILING).dt.tz_localize(
        zone, nonexistent="shift_forward", ambiguous=np.ones(len(naive), dtype=bool)
    )
    return aware.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy()


def _settle(column: _DateColumn, positions: np.ndarray, result: np.ndarray) -> None:
    """Store the instants parsed for some rows; NaT ones stay not done."""
    column.utc[positions] = result
    column.done[positions[~np.isnat(result)]] = True


def _parse_iso(column: _DateColumn) -> None:
    """Fast path for ISO 8601 values, naive (read in the zone) or with an offset."""
    positions = np.flatnonzero(column.given)
    text = _arrow(column.values.iloc[positions])
    length = _numpy(pc.utf8_length(text))
    year = pc.utf8_is_digit(pc.utf8_slice_codeunits(text, 0, 4))
    dash = pc.equal(pc.utf8_slice_codeunits(text, 4, 5), "-")
    iso = (length >= 10) & _numpy(pc.and_(year, dash))
    positions, text, length = positions[iso], text.filter(pa.array(iso)), length[iso]
    tail = pc.utf8_slice_codeunits(text, 10)  # after the date, a sign can only start an offset
    offset = pc.or_(pc.ends_with(tail, "Z"), pc.match_substring(tail, "+"))
    offset = _numpy(pc.or_(offset, pc.match_substring(tail, "-")))
    # Naive values parse as if in UTC: their UTC wall clock is the local wall clock.
    wall = pd.to_datetime(
        column.values.iloc[positions], format="ISO8601", errors="coerce", utc=True
    )
    wall = wall.dt.tz_localize(None)
    result = np.full(len(positions), np.datetime64("NaT"), dtype="datetime64[ns]")
    result[offset] = _utc_ns(wall[offset])
    result[~offset] = _localize(wall[~offset], column.reader.zone)
    _settle(column, positions, result)
    column.date_only[positions[~offset & (length == 10)]] = True


def _parse_with_format(column: _DateColumn, date_format: str) -> None:
    """Values read with the user's --date-format; refuse the file when no value fits it."""
    if not column.given.any():
        return
    positions = np.flatnonzero(column.given)
    aware = bool(_ZONE_DIRECTIVES.search(date_format))
    subset = column.values.iloc[positions]
    try:
        parsed = pd.to_datetime(subset, format=date_format, errors="coerce", utc=aware)
    except ValueError as error:
        raise UsageError(f"--date-format '{date_format}' is not a valid format ({error})") from None
    if aware:
        result = _utc_ns(parsed.dt.tz_convert("UTC").dt.tz_localize(None))
    else:
        result = _localize(parsed, column.reader.zone)
    _settle(column, positions, result)
    if not column.done.any():
        raise column.refuse(
            f"has no value that fits --date-format '{date_format}' (such as '{subset.iloc[0]}')"
        )
    if not _TIME_DIRECTIVES.search(date_format):
        column.date_only |= column.done


def _parse_loose(column: _DateColumn) -> None:
    """Y-M-D with any separator, and D-M-Y or M-D-Y as the whole column settles it."""
    positions = np.flatnonzero(column.given & ~column.done)
    examples = column.values.iloc[positions].to_numpy(dtype=object)
    parts = pc.extract_regex(pa.array(examples, type=pa.string()), _LOOSE_DATE)
    number = {name: _part_numbers(parts, name) for name in ("a", "b", "c", "H", "M", "S")}
    matched = _numpy(parts.is_valid())
    width_a = _numpy(pc.utf8_length(parts.field("a")))
    width_c = _numpy(pc.utf8_length(parts.field("c")))
    year_first = matched & (width_a == 4) & (width_c <= 2)
    day_month = matched & (width_a <= 2) & (width_c == 4)
    lines = column.reader.problems.lines[positions]
    day_first = _day_first(column, number["a"], number["b"], day_month, examples, lines)
    if (day_month & (number["a"] != number["b"])).any():
        separator = parts.field("sep")[int(np.flatnonzero(day_month)[0])].as_py()
        column.reader.notes.append(_order_note(column.label, day_first, separator))
    first_is_day = day_month & day_first
    year = np.where(year_first, number["a"], number["c"])
    month = np.where(year_first | first_is_day, number["b"], number["a"])
    day = np.where(year_first, number["c"], np.where(first_is_day, number["a"], number["b"]))
    hour, valid_hour = _hours(parts, number["H"])
    offsets = _offset_minutes(parts)
    usable = (year_first | day_month) & valid_hour & ~(np.abs(offsets) > 18 * 60)
    naive = _compose(year, month, day, hour, number["M"], number["S"], _nanoseconds(parts), usable)
    aware = ~np.isnan(offsets)
    result = np.full(len(positions), np.datetime64("NaT"), dtype="datetime64[ns]")
    local = ~np.isnat(naive) & ~aware
    if local.any():
        result[local] = _localize(pd.Series(naive[local]), column.reader.zone)
    shifted = ~np.isnat(naive) & aware
    result[shifted] = naive[shifted] - (offsets[shifted] * 60).astype("timedelta64[s]")
    _settle(column, positions, result)
    column.date_only[positions] |= ~np.isnat(result) & np.isnan(number["H"])


def _part_numbers(parts: pa.StructArray, name: str) -> np.ndarray:
    """A numeric group of the loose date pattern as float64 (NaN when absent)."""
    text = parts.field(name)
    numbers = pc.cast(pc.if_else(pc.equal(text, ""), None, text), pa.float64())
    return _numpy(numbers)


def _day_first(
    column: _DateColumn,
    first: np.ndarray,
    second: np.ndarray,
    day_month: np.ndarray,
    examples: np.ndarray,
    lines: np.ndarray,
) -> bool:
    """Whether a column's DD-MM-YYYY / MM-DD-YYYY values are day-first, judged by all of them."""
    only_day = day_month & (first > 12) & (second <= 12)
    only_month = day_month & (second > 12) & (first <= 12)
    advice = "; pass --date-format, e.g. %d-%m-%Y or %m-%d-%Y"
    if only_day.any() and only_month.any():
        day, month = np.flatnonzero(only_day)[0], np.flatnonzero(only_month)[0]
        raise column.refuse(
            f"mixes day-first dates ('{examples[day]}', line {lines[day]}) and month-first "
            f"dates ('{examples[month]}', line {lines[month]}){advice}"
        )
    either = day_month & (first <= 12) & (second <= 12) & (first != second)
    if either.any() and not (only_day.any() or only_month.any()):
        example = np.flatnonzero(either)[0]
        raise column.refuse(
            f"has dates such as '{examples[example]}' (line {lines[example]}) that read as "
            f"day-first or month-first alike{advice}"
        )
    return bool(only_day.any())  # when no value decides, every day equals its month


def _order_note(label: str, day_first: bool, separator: str) -> str:
    """The note that says how a column's D-M-Y / M-D-Y dates were read."""
    layout = ("DD", "MM", "YYYY") if day_first else ("MM", "DD", "YYYY")
    order = "day-first" if day_first else "month-first"
    return f"{label}: read as {order} ({separator.join(layout)})"


def _hours(parts: pa.StructArray, hour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """24-hour hours from an optional AM/PM marker, and which hours are valid."""
    marker = pc.utf8_upper(parts.field("p"))
    has_marker = _numpy(pc.not_equal(marker, ""))
    afternoon = _numpy(pc.starts_with(marker, "P"))
    converted = np.where(has_marker, hour % 12 + 12 * afternoon, hour)
    valid = ~has_marker | ((hour >= 1) & (hour <= 12))
    return converted, valid


def _nanoseconds(parts: pa.StructArray) -> np.ndarray:
    """The fraction of a second as integer nanoseconds (0 when absent)."""
    digits = pc.utf8_slice_codeunits(parts.field("f"), 1)
    padded = pc.utf8_rpad(digits, width=9, padding="0")
    return _numpy(pc.cast(padded, pa.int64()))


def _offset_minutes(parts: pa.StructArray) -> np.ndarray:
    """The UTC offset of each value in minutes ("Z" = 0); NaN for naive values."""
    offset = pc.replace_substring(parts.field("z"), ":", "")
    digits = pc.utf8_rpad(pc.utf8_ltrim(offset, characters="+-Z"), width=4, padding="0")
    number = _numpy(pc.cast(digits, pa.float64()))
    negative = _numpy(pc.starts_with(offset, "-"))
    minutes = np.where(negative, -1.0, 1.0) * (number // 100 * 60 + number % 100)
    minutes[_numpy(pc.equal(offset, ""))] = np.nan
    return minutes


def _compose(
    year: np.ndarray,
    month: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    minute: np.ndarray,
    second: np.ndarray,
    nanos: np.ndarray,
    usable: np.ndarray,
) -> np.ndarray:
    """Naive datetime64[ns] from parts; NaT where a part is out of range or the day is not real."""
    hour, minute, second = np.nan_to_num(hour), np.nan_to_num(minute), np.nan_to_num(second)
    usable = usable & (hour <= 23) & (minute <= 59) & (second <= 59)
    result = np.full(len(year), np.datetime64("NaT"), dtype="datetime64[ns]")
    if usable.any():
        parts = {
            "year": np.clip(year, _FLOOR.year, _CEILING.year),
            "month": month,
            "day": day,
            "hour": hour,
            "minute": minute,
            "second": second,
        }
        frame = pd.DataFrame(parts)[usable].astype(np.int64)
        stamps = pd.to_datetime(frame, errors="coerce").dt.as_unit("ns").to_numpy()
        result[usable] = stamps + nanos[usable].astype("timedelta64[ns]")
    return result


def _parse_numbers(
    values: pd.Series, label: str, problems: _Problems, non_negative: bool
) -> np.ndarray:
    """float64 numbers (NaN = not supplied); "1.234,50", "1,234.50" and "$ 1 234" are read."""
    given = _filled(values)
    result = np.full(len(values), np.nan)
    if not given.any():
        return result
    positions = np.flatnonzero(given)
    text = pc.replace_substring_regex(_arrow(values[given]), _CURRENCY, "")
    text = pc.replace_substring_regex(text, r"^\+", "")
    decimal_comma = _matches(text, _DECIMAL_COMMA)
    either = _matches(text, _EITHER_COMMA)
    thousands = _matches(text, _THOUSANDS_COMMA) & ~either
    # "1,200" is 1200 unless the column writes decimals with a comma elsewhere ("1,5").
    comma_column = bool(decimal_comma.any() and not thousands.any())
    european = pa.array(decimal_comma | (either & comma_column))
    english = pa.array(thousands | (either & (not comma_column)))
    from_european = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
    text = pc.if_else(european, from_european, text)
    text = pc.if_else(english, pc.replace_substring(text, ",", ""), text)
    plain = _matches(text, _PLAIN_NUMBER)
    numbers = np.full(len(positions), np.nan)
    numbers[plain] = pc.cast(text.filter(pa.array(plain)), pa.float64()).to_numpy()
    not_number = ~np.isfinite(numbers)
    problems.add(
        positions[not_number],
        label,
        _bad_reasons(values, positions[not_number], "'{value}' is not a number"),
    )
    if non_negative:
        negative = numbers < 0
        problems.add(
            positions[negative],
            label,
            _bad_reasons(values, positions[negative], "negative amount '{value}'"),
        )
    result[positions[~not_number]] = numbers[~not_number]
    return result


def _lookup(
    values: pd.Series, table: Mapping[str, Any], key: Callable[[str], str]
) -> tuple[np.ndarray, np.ndarray]:
    """table[key(value)] for every value (one lookup per distinct value), and which were found."""
    codes, uniques = pd.factorize(values)
    keys = [key(unique) for unique in uniques]
    found = np.array([table.get(name) for name in keys], dtype=object)
    known = np.array([name in table for name in keys], dtype=bool)
    return found[codes], known[codes]


def _slug(value: str) -> str:
    """A reason compared loosely: "Not a fit" matches not_a_fit."""
    return re.sub(r"[\W_]+", "_", value.casefold()).strip("_")


def _letters(value: str) -> str:
    """The letters of a value, lowercased ("Phone call" -> "phonecall"); "?" if it has none."""
    letters = re.sub(r"[^a-z]", "", value.casefold())
    return letters or ("?" if value else "")


# --- leads -----------------------------------------------------------------------------------


class _Reader:
    """Shared state of one parse: the table, the problems, notes and the parsed date columns."""

    def __init__(
        self, table: Table, mapping: dict[str, list[str]], tz: str, date_format: str | None
    ):
        self.table = table
        self.mapping = mapping
        self.zone = _zone(tz)
        self.date_format = date_format
        self.problems = _Problems(table)
        self.notes: list[str] = list(table.notes)
        self._dates: dict[tuple[str, ...], _Dates] = {}
        self._texts: dict[tuple[str, ...], pd.Series] = {}

    def text(self, name: str) -> pd.Series:
        """The stripped text of a field."""
        columns = tuple(self.mapping[name])
        if columns not in self._texts:
            self._texts[columns] = _text_of(self.table, columns)
        return self._texts[columns]

    def label(self, name: str) -> str:
        """The file column(s) of a field, as errors name them."""
        return _label(self.mapping[name])

    def dates(self, name: str) -> _Dates:
        """A date field parsed once per column, even when two fields read the same column."""
        columns = tuple(self.mapping[name])
        if columns not in self._dates:
            self._dates[columns] = _parse_dates(self.text(name), _label(columns), self)
        return self._dates[columns]

    def result(self, frame: pd.DataFrame, kind: str) -> ParsedFile:
        """The ParsedFile of the good rows of `frame` (one row per table row)."""
        good = ~self.problems.bad
        return ParsedFile(
            frame=frame[good].reset_index(drop=True),
            lines=self.table.lines[good],
            errors=self.problems.row_errors(),
            read=len(self.table.lines),
            rejected=int(self.problems.bad.sum()),
            supplied=frozenset(self.mapping),
            notes=self.notes,
            columns={name: self.label(name) for name in _FIELDS[kind] if name in self.mapping},
        )


def parse_leads(
    table: Table,
    mapping: dict[str, list[str]],
    *,
    tz: str,
    date_format: str | None = None,
    rejection_reasons: Collection[str] | None = None,
) -> ParsedFile:
    """Lead rows as canonical fields (+ attributes), checked row by row (DESIGN §6)."""
    reader = _Reader(table, _check_mapping(table, mapping, "leads"), tz, date_format)
    columns: dict[str, Any] = {}
    for name in LEAD_FIELDS:
        if name not in reader.mapping:
            continue
        if name in LEAD_TIMESTAMPS:
            columns[name] = reader.dates(name).utc
        elif name in LEAD_NUMBERS:
            columns[name] = _parse_numbers(
                reader.text(name),
                reader.label(name),
                reader.problems,
                non_negative=name == "amount",
            )
        else:
            columns[name] = _optional_text(reader.text(name))
    _check_external_ids(reader)
    _check_stage_order(reader)
    if "email" in reader.mapping:
        _check_emails(reader)
    if "rejection_reason" in reader.mapping and rejection_reasons is not None:
        columns["rejection_reason"] = _agreed_reasons(reader, rejection_reasons)
    frame = pd.DataFrame({name: _column(name, values) for name, values in columns.items()})
    frame["attributes"] = _attributes(table, reader.mapping)
    return reader.result(frame, "leads")


def _column(name: str, values: np.ndarray | pd.Series) -> pd.Series:
    """A frame column of the right dtype: UTC timestamps, floats or Python str/None (object)."""
    if name in LEAD_TIMESTAMPS or name == "at":
        return pd.Series(values).dt.tz_localize("UTC")
    return pd.Series(values, dtype=values.dtype)  # keeps object: pandas would infer "str"


def _check_external_ids(reader: _Reader) -> None:
    """Every row needs an id; a repeated id is an error pointing at its first line."""
    ids = reader.text("external_id")
    label = reader.label("external_id")
    missing = np.flatnonzero(~_filled(ids))
    reader.problems.add(missing, label, "missing external id")
    codes, _ = pd.factorize(ids)
    first_of_code = np.unique(codes, return_index=True)[1]
    first = first_of_code[codes]
    repeated = np.flatnonzero((first != np.arange(len(ids))) & _filled(ids))
    if not len(repeated):
        return
    rows = reader.table.rows
    later = rows.iloc[repeated].to_numpy(dtype=object)
    identical = (later == rows.iloc[first[repeated]].to_numpy(dtype=object)).all(axis=1)
    first_lines = reader.table.lines[first[repeated]]
    reader.problems.add(
        repeated,
        label,
        [
            f"duplicate of line {line}" + (" (identical row)" if same else "")
            for line, same in zip(first_lines.tolist(), identical.tolist(), strict=True)
        ],
    )


def _check_stage_order(reader: _Reader) -> None:
    """A stage timestamp may not precede created_at; a date-only stage may fall on its day."""
    if "created_at" not in reader.mapping:
        return
    created = reader.dates("created_at")
    created_text = reader.text("created_at")
    created_label = reader.label("created_at")
    local_midnight = (
        pd.Series(created.utc)
        .dt.tz_localize("UTC")
        .dt.tz_convert(reader.zone)
        .dt.floor("D", nonexistent="shift_forward", ambiguous=np.ones(len(created.utc), bool))
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .dt.as_unit("ns")
        .to_numpy()
    )
    for name in LEAD_TIMESTAMPS[1:]:
        if name not in reader.mapping or reader.mapping[name] == reader.mapping["created_at"]:
            continue
        stage = reader.dates(name)
        limit = np.where(stage.date_only, local_midnight, created.utc)
        early = np.flatnonzero(stage.utc < limit)  # NaT compares False: missing is never early
        if not len(early):
            continue
        stage_text = reader.text(name).iloc[early].tolist()
        created_at = created_text.iloc[early].tolist()
        reader.problems.add(
            early,
            reader.label(name),
            [
                f"'{stage}' is earlier than the creation date '{created}' ({created_label})"
                for stage, created in zip(stage_text, created_at, strict=True)
            ],
        )


def _check_emails(reader: _Reader) -> None:
    """An email, when given, must look like an address."""
    emails = reader.text("email")
    bad = np.flatnonzero(_filled(emails) & ~_matches(_arrow(emails), _EMAIL))
    reader.problems.add(
        bad, reader.label("email"), _bad_reasons(emails, bad, "'{value}' is not an email address")
    )


def _agreed_reasons(reader: _Reader, allowed: Collection[str]) -> np.ndarray:
    """Rejection reasons as the agreement spells them; a reason outside its list is an error."""
    reasons = reader.text("rejection_reason")
    canonical, known = _lookup(reasons, {_slug(reason): reason for reason in allowed}, _slug)
    unknown = np.flatnonzero(_filled(reasons) & ~known)
    listed = ", ".join(allowed) or "none"
    reader.problems.add(
        unknown,
        reader.label("rejection_reason"),
        _bad_reasons(
            reasons,
            unknown,
            f"rejection reason '{{value}}' is not in the agreement's list ({listed})",
        ),
    )
    return canonical


def _attributes(table: Table, mapping: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """Per row, every unmapped column with a value: {column: text}."""
    used = {column for columns in mapping.values() for column in columns}
    attributes: list[dict[str, str]] = [{} for _ in range(len(table.rows))]
    for column in (column for column in table.columns if column not in used):
        values = table.rows[column]
        filled = np.flatnonzero(_filled(values))
        for position, value in zip(filled.tolist(), values.iloc[filled].tolist(), strict=True):
            attributes[position][column] = value
    return attributes


# --- touches ---------------------------------------------------------------------------------


def parse_touches(
    table: Table, mapping: dict[str, list[str]], *, tz: str, date_format: str | None = None
) -> ParsedFile:
    """Touch rows as canonical fields; kind defaults to "other", automated to False."""
    reader = _Reader(table, _check_mapping(table, mapping, "touches"), tz, date_format)
    size = len(table.rows)
    leads = reader.text("lead_external_id")
    reader.problems.add(
        np.flatnonzero(~_filled(leads)),
        reader.label("lead_external_id"),
        "missing lead id",
    )
    at_text = reader.text("at")
    reader.problems.add(np.flatnonzero(~_filled(at_text)), reader.label("at"), "missing touch time")
    mapped = reader.mapping
    frame = pd.DataFrame(
        {
            "lead_external_id": _optional_text(leads),
            "at": _column("at", reader.dates("at").utc),
            "kind": _kinds(reader) if "kind" in mapped else np.full(size, "other", object),
            "rep": _optional_text(reader.text("rep")) if "rep" in mapped else [None] * size,
            "automated": _automated(reader) if "automated" in mapped else np.zeros(size, bool),
        }
    )
    frame["kind"] = frame["kind"].astype(object)
    frame["rep"] = frame["rep"].astype(object)
    return reader.result(frame, "touches")


def _kinds(reader: _Reader) -> np.ndarray:
    """call, email, meeting or other (synonyms allowed, empty = other)."""
    kinds = reader.text("kind")
    found, known = _lookup(kinds, {**_KIND_BY_NAME, "": "other"}, _letters)
    unknown = np.flatnonzero(~known)
    reader.problems.add(
        unknown,
        reader.label("kind"),
        _bad_reasons(kinds, unknown, "unknown kind '{value}' (use call, email, meeting or other)"),
    )
    found[unknown] = "other"
    return found


def _automated(reader: _Reader) -> np.ndarray:
    """True/false from true/false, yes/no, 1/0 in any case; empty = false."""
    flags = reader.text("automated")
    truth = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
    found, known = _lookup(flags, truth, str.casefold)
    unknown = np.flatnonzero(~known)
    reader.problems.add(
        unknown,
        reader.label("automated"),
        _bad_reasons(
            flags, unknown, "'{value}' is not true or false (use true, false, yes, no, 1 or 0)"
        ),
    )
    found[unknown] = False
    return found.astype(bool)


# --- errors download -------------------------------------------------------------------------


def errors_csv(errors: list[RowError]) -> str:
    """The errors as "line,column,reason" CSV; cells that a spreadsheet would run are quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "column", "reason"])
    for error in errors:
        writer.writerow([error.line, _inert(error.column), _inert(error.reason)])
    return buffer.getvalue()


def _inert(text: str) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would start a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
