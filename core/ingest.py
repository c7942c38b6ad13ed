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
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from types import MappingProxyType
from typing import IO, Any, NamedTuple
from xml.parsers import expat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from core import limits
from core.csv_safe import inert

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
_IDS = ("external_id", "lead_external_id")
# The stored widths of the lead's text fields; `source` is an option, which the services check.
_LEAD_WIDTHS = {
    name: width for name, width in limits.LEAD_FIELD_MAX_CHARS.items() if name != "source"
}
_MAX_OFFSET_MINUTES = 14 * 60  # UTC+14:00 (Kiribati) to UTC-12:00: nothing lies beyond ±14:00
_OFFSET_AT_END = r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)$"
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
    errors: tuple[RowError, ...] = ()  # rows the reader could not fit to the header, or read
    notes: tuple[str, ...] = ()
    blanked: frozenset[tuple[int, str]] = frozenset()  # (line, column) the reader left empty


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

_CHUNK = 4 * 1024 * 1024  # bytes scanned at once: bounds the index arrays of one step
_SNIFF_LINE_BYTES = 1024 * 1024  # the delimiter is sniffed on at most this much of a line
# A header longer than this has too many columns or too long a name (a UTF-8 character takes
# at most 4 bytes; quotes and the delimiter 3 more per name), so only this much of it is split.
_HEADER_MAX_BYTES = limits.MAX_COLUMNS * (4 * limits.HEADER_MAX_CHARS + 3)
# Likewise a row longer than this has too many cells or too long a cell: it is never parsed whole.
_RECORD_MAX_BYTES = limits.MAX_COLUMNS * (4 * limits.CELL_MAX_CHARS + 3)
_NOT_BLANK = re.compile(rb"\S")
_QUOTED_CELL = re.compile(r'"[^"]*+(?:""[^"]*+)*+"?')  # possessive: no backtracking state
_ZERO_WIDTH = "[\u200b-\u200d\u2060\ufeff]"


def read_table(data: bytes, filename: str) -> Table:
    """The cells of a CSV or XLSX file as text, with the physical line of every row."""
    if len(data) > limits.FILE_MAX_BYTES:
        raise FileRefused(
            f"{filename}: the file is {len(data):,} bytes; at most {limits.FILE_MAX_BYTES:,} "
            f"({_megabytes(limits.FILE_MAX_BYTES)}) are allowed"
        )
    if data.startswith(_OLE_MAGIC):
        raise FileRefused(
            f"{filename}: Excel 97-2003 (.xls) files are not supported; save it as .xlsx or .csv"
        )
    if data.startswith(_ZIP_MAGIC) or filename.lower().endswith(_XLSX_EXTENSIONS):
        return _read_xlsx(data, filename)
    return _read_csv(data, filename)


def _megabytes(size: int) -> str:
    """A size in MB as people read it: "512 MB", "1.5 MB"."""
    return f"{size / 2**20:,.1f}".removesuffix(".0") + " MB"


def _too_long(length: int | None) -> str:
    """The reason for a cell over CELL_MAX_CHARS (None: longer than could be measured)."""
    size = f"{length:,}" if length is not None else f"more than {limits.CELL_MAX_CHARS:,}"
    return f"the cell holds {size} characters; at most {limits.CELL_MAX_CHARS:,} are allowed"


def _too_many_rows(filename: str, limit: int, where: str = "") -> FileRefused:
    """The refusal of a file with more rows than `limit`."""
    return FileRefused(
        f"{filename}: {where}more than {limit:,} rows; at most {limit:,} are allowed in one "
        "file (split it)"
    )


class _Grid(NamedTuple):
    """Raw cells before the header is checked: positional columns, lines, misfit rows."""

    header: list[str]
    header_line: int
    cells: pd.DataFrame
    lines: np.ndarray
    misfits: list[RowError]
    blank_rows: tuple[int, ...] = ()  # lines of rows too long to read, left without cells


def _read_csv(data: bytes, filename: str) -> Table:
    """A delimited text file as a Table."""
    raw, encoding = _utf8(data, filename)
    if b"\x00" in raw:
        raise FileRefused(f"{filename}: not a CSV text file or an XLSX workbook")
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if _NOT_BLANK.search(raw) is None:
        raise FileRefused(f"{filename}: the file is empty")
    delimiter = _sniff_delimiter(raw)
    spans = _record_spans(raw, filename)
    grid, cut = None, []
    if spans.balanced:
        found = _header_record(raw, spans, delimiter, filename)
        if found is not None:
            raw, cut = _cut_long_records(raw, spans, found, delimiter)
            grid = _fast_grid(raw, spans, found, delimiter)
    elif spans.longest > _RECORD_MAX_BYTES:
        raise FileRefused(
            f"{filename}: line {spans.longest_line:,} is {spans.longest:,} bytes long; a row "
            f"holds at most {limits.MAX_COLUMNS:,} cells of {limits.CELL_MAX_CHARS:,} characters"
        )
    grid = grid or _slow_grid(raw, delimiter, filename)
    notes = () if encoding == "utf-8" else (f"{filename}: not UTF-8, read as {encoding}",)
    grid = grid._replace(misfits=[*grid.misfits, *cut], blank_rows=tuple(e.line for e in cut))
    return _table(grid, filename, notes)


def _utf8(data: bytes, filename: str) -> tuple[bytes, str]:
    """The text of a CSV file as UTF-8 without a BOM, and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "UTF-16"
        except UnicodeDecodeError:
            raise FileRefused(f"{filename}: starts like UTF-16 text but is not") from None
    if data.isascii() or _is_utf8(data):
        return data, "utf-8"
    try:
        return data.decode("cp1252").encode("utf-8"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "Latin-1"


def _is_utf8(data: bytes) -> bool:
    """Whether bytes are valid UTF-8, checked a chunk at a time (no copy of the whole text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start : start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _head_lines(raw: bytes, count: int) -> list[bytes]:
    """The first `count` lines, each cut at _SNIFF_LINE_BYTES."""
    lines, position = [], 0
    while len(lines) < count and position <= len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end
        lines.append(raw[position : min(end, position + _SNIFF_LINE_BYTES)])
        position = end + 1
    return lines


def _sniff_delimiter(raw: bytes) -> str:
    """The delimiter that splits the header, and the most lines after it the same way."""
    head = [re.sub(rb'"[^"]*"', b"", line) for line in _head_lines(raw, 20) if line.strip()]
    header = head[0] if head else b""

    def fit(delimiter: str) -> tuple[bool, int, int]:
        mark = delimiter.encode()
        width = header.count(mark)
        return width > 0, sum(line.count(mark) == width for line in head), width

    best = max(_DELIMITERS, key=fit)
    return best if header.count(best.encode()) else ","


class _Spans(NamedTuple):
    """Where the non-empty records of a CSV text are: byte start, end and physical line."""

    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    quoted_newlines: bool  # some cell holds a line break
    balanced: bool  # an even number of quotes: the records are right
    longest: int  # the longest physical line, in bytes
    longest_line: int


def _record_spans(raw: bytes, filename: str) -> _Spans:
    """The records of a CSV text (a newline inside quotes is data), scanned a chunk at a time.

    A file with more than CSV_MAX_ROWS rows is refused as soon as they are counted.
    """
    buffer = np.frombuffer(raw, dtype=np.uint8)
    parts: list[tuple[np.ndarray, ...]] = []
    rows, newlines, odd, quoted = 0, 0, 0, False
    record_start, record_line, line_start, longest = 0, 1, 0, (0, 1)
    for offset in range(0, len(buffer), _CHUNK):
        chunk = buffer[offset : offset + _CHUNK]
        breaks = np.flatnonzero(chunk == _NEWLINE) + offset
        quotes = np.flatnonzero(chunk == _QUOTE)
        outside = (np.searchsorted(quotes, breaks - offset) + odd) % 2 == 0
        odd, quoted = (odd + len(quotes)) % 2, quoted or not outside.all()
        if len(breaks):
            lengths = np.diff(breaks, prepend=line_start - 1) - 1
            widest = int(np.argmax(lengths))
            longest = max(longest, (int(lengths[widest]), newlines + widest + 1))
            line_start = int(breaks[-1]) + 1
        number = newlines + np.flatnonzero(outside)  # the index of each record's newline
        ends = breaks[outside]
        newlines += len(breaks)
        if not len(ends):
            continue
        starts = np.concatenate(([record_start], ends[:-1] + 1))
        lines = np.concatenate(([record_line], number[:-1] + 2))
        keep = ends > starts
        parts.append((starts[keep], ends[keep], lines[keep]))
        rows += int(keep.sum())
        record_start, record_line = int(ends[-1]) + 1, int(number[-1]) + 2
        if rows > limits.CSV_MAX_ROWS + 1:  # + 1: the header
            raise _too_many_rows(filename, limits.CSV_MAX_ROWS)
    longest = max(longest, (len(raw) - line_start, newlines + 1))
    if len(raw) > record_start:
        parts.append((np.array([record_start]), np.array([len(raw)]), np.array([record_line])))
    starts, ends, lines = (
        np.concatenate([part[field] for part in parts]) if parts else np.array([], np.int64)
        for field in range(3)
    )
    return _Spans(starts, ends, lines, quoted, odd == 0, *longest)


def _split_record(text: str, delimiter: str) -> list[str]:
    """The cells of one CSV record."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _header_record(
    raw: bytes, spans: _Spans, delimiter: str, filename: str
) -> tuple[int, list[str]] | None:
    """The index and cells of the first record with a non-blank cell (the header), checked."""
    for index in range(len(spans.starts)):
        start, end = int(spans.starts[index]), int(spans.ends[index])
        cut = min(end, start + _HEADER_MAX_BYTES + 1)
        try:
            cells = _split_record(raw[start:cut].decode("utf-8", "replace"), delimiter)
        except csv.Error:  # a cell beyond the csv module's field limit
            raise FileRefused(
                f"{filename}: a column name is longer than {csv.field_size_limit():,} "
                f"characters; at most {limits.HEADER_MAX_CHARS:,} are allowed"
            ) from None
        if not "".join(cells).strip():
            continue
        width: int | None = len(cells)
        if cut < end:  # only a part was split: count all the columns unless quotes hide some
            quoted = raw.count(b'"', start, end)
            width = None if quoted else raw.count(delimiter.encode(), start, end) + 1
        _check_header_size(cells, width, filename)
        return index, cells
    return None


def _check_header_size(names: Sequence[str], width: int | None, filename: str) -> None:
    """Refuse more than MAX_COLUMNS columns or a name over HEADER_MAX_CHARS (width None: unknown,
    the header being too long to split whole)."""
    count = len(names) if width is None else width
    if count > limits.MAX_COLUMNS:
        amount = f"more than {limits.MAX_COLUMNS:,}" if width is None else f"{count:,}"
        raise FileRefused(
            f"{filename}: {amount} columns; at most {limits.MAX_COLUMNS:,} are allowed"
        )
    for position, name in enumerate(names, start=1):
        name = name.strip()
        if len(name) > limits.HEADER_MAX_CHARS:
            raise FileRefused(
                f"{filename}: the name of column {position} is {len(name):,} characters long "
                f"('{name[:40]}…'); at most {limits.HEADER_MAX_CHARS:,} are allowed"
            )
    if width is None:
        raise FileRefused(f"{filename}: the header is longer than {_HEADER_MAX_BYTES:,} bytes")


def _cut_long_records(
    raw: bytes, spans: _Spans, found: tuple[int, list[str]], delimiter: str
) -> tuple[bytes, list[RowError]]:
    """Rows with a cell too long for the csv module, or too long to hold valid cells at all, as
    errors; each is replaced by an empty row that keeps its line breaks (and so every later line
    its number). Shorter rows' long cells are found in the grid."""
    index, header = found
    over = np.flatnonzero(spans.ends - spans.starts > csv.field_size_limit())
    errors: dict[int, RowError] = {}
    for record in over[over > index].tolist():
        start, end = int(spans.starts[record]), int(spans.ends[record])
        error = _long_record_error(raw, start, end, int(spans.lines[record]), header, delimiter)
        if error is not None:
            errors[record] = error
    if not errors:
        return raw, []
    view, pieces, position = memoryview(raw), [], 0
    for record in errors:
        start, end = int(spans.starts[record]), int(spans.ends[record])
        newlines = b"\n" * raw.count(b"\n", start, end)
        pieces += [
            view[position:start],
            b'"' + newlines + b'"' + delimiter.encode() * (len(header) - 1),
        ]
        position = end
    pieces.append(view[position:])
    return b"".join(pieces), list(errors.values())


def _long_record_error(
    raw: bytes, start: int, end: int, line: int, header: list[str], delimiter: str
) -> RowError | None:
    """The error of a long row: its first cell over CELL_MAX_CHARS, or its size when over
    _RECORD_MAX_BYTES; None when it is fine."""
    text = raw[start : start + _RECORD_MAX_BYTES].decode("utf-8", "replace")
    place = _long_cell(text, delimiter, len(header))
    if place is not None:
        return RowError(line, header[place].strip(), _too_long(None))
    if end - start <= _RECORD_MAX_BYTES:
        return None
    return RowError(
        line,
        "",
        f"the row is {end - start:,} bytes long; a row holds at most "
        f"{len(header):,} cells of {limits.CELL_MAX_CHARS:,} characters",
    )


def _long_cell(text: str, delimiter: str, width: int) -> int | None:
    """The place of the first cell over CELL_MAX_CHARS among a record's first `width`: one find
    per cell, as a cell may be beyond the csv module's field limit."""
    position = 0
    for place in range(width):
        quoted = _QUOTED_CELL.match(text, position) if text.startswith('"', position) else None
        stop = text.find(delimiter, quoted.end() if quoted else position)
        stop = len(text) if stop < 0 else stop
        length = stop - position
        if quoted:  # less the quotes and the doubling of quotes inside
            length -= 2 + text.count('""', position + 1, quoted.end() - 1)
        if length > limits.CELL_MAX_CHARS:
            return place
        if stop == len(text):
            return None
        position = stop + 1
    return None


def _fast_grid(
    raw: bytes, spans: _Spans, found: tuple[int, list[str]], delimiter: str
) -> _Grid | None:
    """The cells via pyarrow's CSV reader, or None when the file needs the tolerant reader."""
    index, header = found
    body = int(spans.ends[index]) + 1
    if _NOT_BLANK.search(raw, body) is None:
        return None
    names = [f"c{position}" for position in range(len(header))]
    longest = int((spans.ends - spans.starts).max())
    try:
        arrow = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(raw).slice(body)),  # no copy of the text
            # A block must hold the longest row when cells hold line breaks.
            read_options=pa_csv.ReadOptions(
                column_names=names, block_size=max(1 << 20, longest + 2)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=spans.quoted_newlines,
                ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, csv.Error):
        return None
    data_lines = spans.lines[index + 1 :]
    if arrow.num_rows != len(data_lines):
        return None  # stray quotes fooled the line scan: let the csv module count lines
    cells = arrow.to_pandas()
    return _Grid(header, int(spans.lines[index]), cells, data_lines.astype(np.int64), [])


def _slow_grid(raw: bytes, delimiter: str, filename: str) -> _Grid:
    """The cells via the csv module: tolerant of ragged rows, counts lines exactly."""
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")  # decoded as read
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    previous, header = 0, False
    try:
        for record in reader:
            if record:  # blank lines come as []; rows of empty cells are dropped later
                if not header and "".join(record).strip():
                    _check_header_size(record, len(record), filename)
                    header = True
                records.append(record)
                lines.append(previous + 1)
                if len(records) > limits.CSV_MAX_ROWS + 1:
                    raise _too_many_rows(filename, limits.CSV_MAX_ROWS)
            previous = reader.line_num
    except csv.Error as error:
        problem = str(error)
        if "field larger than field limit" in problem:  # the csv module's own bound
            problem = (
                f"a cell is longer than {csv.field_size_limit():,} characters, or a quote is "
                "never closed"
            )
        raise FileRefused(f"{filename}: line {previous + 1}: not valid CSV ({problem})") from None
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


# --- reading XLSX ----------------------------------------------------------------------------

_XML_CHUNK = 1024 * 1024
# One shared string or cell, from its start tag to the next: 10,000 characters of even the most
# formatted rich text take far less. A larger one is a bomb that openpyxl would hold whole.
_XML_ITEM_MAX_BYTES = 2 * 1024 * 1024
_EXCEL_MAX_ROWS = 1_048_576  # Excel's last row: a row number beyond it is forged
_NAME_ENDS = np.frombuffer(b" \t\r\n/>", dtype=np.uint8)
_LT = ord("<")


class _Doctype(Exception):
    """An XML part declares a DTD."""


class _Root(Exception):
    """The first element of an XML part was reached: the prolog is over."""


def _read_xlsx(data: bytes, filename: str) -> Table:
    """The first sheet of a workbook as a Table; lines are sheet row numbers."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            roots = _check_archive(archive, filename)
        reader = _workbook(data)
        try:
            sheets = _worksheet_parts(reader)
            if not sheets:
                raise FileRefused(f"{filename}: the workbook has no worksheet")
            unsaved = _check_sheet(reader.archive, sheets[0], roots.get(sheets[0], ""), filename)
            sheet = _sheet_type()(reader.wb, "", sheets[0], reader.shared_strings)
            grid = _sheet_grid(sheet.iter_rows(), unsaved, filename)
        finally:
            reader.archive.close()
    except FileRefused:
        raise
    except Exception as error:  # zipfile, zlib, expat and openpyxl raise many kinds of errors
        raise FileRefused(f"{filename}: not a readable XLSX workbook ({error})") from None
    return _table(grid, filename, ())


def _workbook(data: bytes) -> Any:
    """openpyxl's reader of a workbook, read up to its sheets: the steps of load_workbook but
    the last, which parses every sheet without a <dimension> whole, only to find its size."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)  # number formats: which numbers are dates
    return reader


def _worksheet_parts(reader: Any) -> list[str]:
    """The workbook's worksheet parts in order, as load_workbook finds them."""
    names = set(reader.valid_files)
    return [
        relation.target
        for _sheet, relation in reader.parser.find_sheets()
        if relation.target in names and "chartsheet" not in relation.Type
    ]


@cache
def _sheet_type() -> type:
    """openpyxl's read-only worksheet, without its size: a <dimension> can lie, and without one
    openpyxl would parse the whole sheet to find it (rows are then read without a size)."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        """A read-only worksheet of unknown size."""

        def _get_size(self) -> None:
            """Leave the size unknown."""

    return Sheet


def _check_archive(archive: zipfile.ZipFile, filename: str) -> dict[str, str]:
    """Refuse a workbook that inflates too far, declares a DTD or has too many shared strings,
    before anything is inflated whole; the root element's name of every XML part."""
    inflated = sum(info.file_size for info in archive.infolist())
    # The zip directory's sizes bind: zipfile never inflates a member past its declared size.
    if inflated > limits.XLSX_MAX_UNCOMPRESSED_BYTES:
        raise FileRefused(
            f"{filename}: the workbook inflates to {_megabytes(inflated)}; at most "
            f"{_megabytes(limits.XLSX_MAX_UNCOMPRESSED_BYTES)} are allowed"
        )
    roots = {}
    for info in archive.infolist():  # every member: openpyxl follows relations, not extensions
        with archive.open(info) as stream:
            roots[info.filename] = _root_element(stream, info.filename, filename)
    _check_shared_strings(archive, roots, filename)
    return roots


def _root_element(stream: IO[bytes], part: str, filename: str) -> str:
    """The name of an XML part's first element; refuses a DTD (its entities could expand
    without bound, and Excel never writes one). "" when the part is not XML."""
    parser = expat.ParserCreate()

    def doctype(*_arguments: object) -> None:
        raise _Doctype

    def root(name: str, _attributes: object) -> None:
        raise _Root(name)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := stream.read(64 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Root as found:
        return found.args[0]
    except _Doctype:
        raise FileRefused(
            f"{filename}: {part} declares a DTD (<!DOCTYPE …>); a workbook never does, and its "
            "entities could expand without bound"
        ) from None
    except expat.ExpatError:
        pass  # openpyxl decides whether a broken part matters
    return ""


def _manifest(archive: zipfile.ZipFile) -> Any:
    """The package's [Content_Types].xml, read as openpyxl reads it."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.xml.constants import ARC_CONTENT_TYPES
    from openpyxl.xml.functions import fromstring

    return Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The shared-strings part, found as openpyxl finds it."""
    from openpyxl.xml.constants import SHARED_STRINGS

    part = _manifest(archive).find(SHARED_STRINGS)
    return part.PartName[1:] if part is not None else None


def _check_shared_strings(archive: zipfile.ZipFile, roots: dict[str, str], filename: str) -> None:
    """Refuse more than XLSX_MAX_SHARED_STRINGS shared strings, counted while streaming."""
    part = _shared_strings_part(archive)
    if part not in roots:
        return
    count = 0
    with archive.open(part) as stream:
        for found in _tag_scan(stream, roots[part], (b"si",), b"sst", filename):
            count += len(found[b"si"])
            if count > limits.XLSX_MAX_SHARED_STRINGS:
                raise FileRefused(
                    f"{filename}: more than {limits.XLSX_MAX_SHARED_STRINGS:,} shared strings; at "
                    f"most {limits.XLSX_MAX_SHARED_STRINGS:,} are allowed (save it as CSV)"
                )


def _windows(stream: IO[bytes], margin: int) -> Iterator[tuple[np.ndarray, int, int]]:
    """A stream a chunk at a time: (bytes, offset of the first, how many to scan). A tag that
    starts in the last `margin` bytes is scanned with the next chunk."""
    carry, offset = b"", 0
    while chunk := stream.read(_XML_CHUNK):
        data = carry + chunk
        cut = max(len(data) - margin, 0)
        yield np.frombuffer(data, dtype=np.uint8), offset, cut
        carry, offset = data[cut:], offset + cut
    yield np.frombuffer(carry + bytes(margin), dtype=np.uint8), offset, len(carry)


def _tags(buffer: np.ndarray, opens: np.ndarray, pattern: bytes) -> np.ndarray:
    """The '<' positions among `opens` that begin a tag named `pattern` (then a space, / or >)."""
    hit = opens
    for offset, byte in enumerate(pattern, start=1):
        hit = hit[buffer[hit + offset] == byte]
    return hit[np.isin(buffer[hit + len(pattern) + 1], _NAME_ENDS)]


def _tag_scan(
    stream: IO[bytes], root: str, items: tuple[bytes, ...], closing: bytes, filename: str
) -> Iterator[dict[bytes, np.ndarray]]:
    """Per chunk of an XML part, where its `items` elements start, found by a byte scan (no
    parse: a fraction of openpyxl's cost). Refuses an item, from its start to the next one or
    to the `closing` end tag, over _XML_ITEM_MAX_BYTES."""
    prefix = root.rpartition(":")[0].encode() + b":" if ":" in root else b""
    patterns = {name: prefix + name for name in items}
    end = b"/" + prefix + closing
    margin = max(len(pattern) for pattern in [*patterns.values(), end]) + 2
    last, closed, size = -1, False, 0
    for buffer, offset, cut in _windows(stream, margin):
        opens = np.flatnonzero(buffer[:cut] == _LT)
        found = {name: _tags(buffer, opens, pattern) + offset for name, pattern in patterns.items()}
        size = offset + cut
        if not closed:
            bounds = np.sort(np.concatenate(list(found.values())))
            ends = _tags(buffer, opens, end) + offset
            if len(ends):
                bounds, closed = np.append(bounds[bounds < ends[0]], ends[0]), True
            last = _check_gaps(bounds, last, filename, root)
        yield found
    if not closed:
        _check_gaps(np.array([size]), last, filename, root)


def _check_gaps(bounds: np.ndarray, last: int, filename: str, root: str) -> int:
    """Refuse an item over _XML_ITEM_MAX_BYTES between consecutive bounds; the last bound."""
    if not len(bounds):
        return last
    gaps = np.diff(bounds, prepend=bounds[0] if last < 0 else last)
    if gaps.max() > _XML_ITEM_MAX_BYTES:
        what = "shared string" if root.endswith("sst") else "cell"
        raise FileRefused(
            f"{filename}: one {what} takes {int(gaps.max()):,} bytes of XML; a cell holds at "
            f"most {limits.CELL_MAX_CHARS:,} characters"
        )
    return int(bounds[-1])


def _check_sheet(
    archive: zipfile.ZipFile, part: str, root: str, filename: str
) -> dict[int, list[int]]:
    """Refuse a first sheet of more than XLSX_MAX_ROWS rows, MAX_COLUMNS cells in a row or
    XLSX_MAX_CELLS cells, by a byte scan before openpyxl reads it (a <dimension> can lie); its
    formulas without a saved value."""
    rows = open_row = cells = 0
    formulas = False
    with archive.open(part) as stream:
        for found in _tag_scan(stream, root, (b"row", b"c", b"f"), b"sheetData", filename):
            open_row = _check_rows(found, open_row, filename)
            rows += len(found[b"row"])
            if rows > limits.XLSX_MAX_ROWS:
                raise _too_many_rows(filename, limits.XLSX_MAX_ROWS, "the first sheet has ")
            cells += len(found[b"c"])
            if cells > limits.XLSX_MAX_CELLS:
                raise FileRefused(
                    f"{filename}: the first sheet has more than {limits.XLSX_MAX_CELLS:,} cells; "
                    f"at most {limits.XLSX_MAX_CELLS:,} are allowed (save it as CSV)"
                )
            formulas = formulas or bool(len(found[b"f"]))
    return _unsaved_formulas(archive, part, root) if formulas else {}


def _check_rows(found: dict[bytes, np.ndarray], open_row: int, filename: str) -> int:
    """Refuse a row of more than MAX_COLUMNS cells; the cells of the row still open."""
    row_starts, cell_starts = found[b"row"], found[b"c"]
    # Cells per row; the first count goes to the row still open from the chunk before.
    widths = np.bincount(
        np.searchsorted(row_starts, cell_starts, side="right"), minlength=len(row_starts) + 1
    )
    widths[0] += open_row
    if widths.max() > limits.MAX_COLUMNS:
        raise FileRefused(
            f"{filename}: a row of the first sheet has more than {limits.MAX_COLUMNS:,} cells; "
            f"at most {limits.MAX_COLUMNS:,} columns are allowed"
        )
    return int(widths[-1])


class _FormulaCells:
    """expat handlers that find the formula cells without a saved value, as openpyxl counts
    rows and columns (a row's or cell's `r`, else the next number)."""

    def __init__(self, root: str):
        prefix = root.rpartition(":")[0] + ":" if ":" in root else ""
        self.row_tag, self.cell_tag, self.formula_tag, self.value_tag = (
            prefix + name for name in ("row", "c", "f", "v")
        )
        self.row = self.column = 0
        self.formula = self.value = self.inline = self.in_value = False
        self.found: dict[int, list[int]] = {}

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens."""
        from openpyxl.utils.cell import coordinate_to_tuple

        if name == self.row_tag:
            number = attributes.get("r")
            self.row = int(float(number)) if number else self.row + 1
            self.column = 0
        elif name == self.cell_tag:
            reference = attributes.get("r")
            self.column = coordinate_to_tuple(reference)[1] if reference else self.column + 1
            self.formula = self.value = False
            self.inline = attributes.get("t") == "inlineStr"
        elif name == self.formula_tag:
            self.formula = True
        elif name == self.value_tag:
            self.in_value = True

    def text(self, data: str) -> None:
        """Character data: a value's text makes the cell's saved value."""
        self.value = self.value or (self.in_value and bool(data))

    def end(self, name: str) -> None:
        """An element closes."""
        if name == self.value_tag:
            self.in_value = False
        elif name == self.cell_tag and self.formula and not (self.value or self.inline):
            self.found.setdefault(self.row, []).append(self.column - 1)


def _unsaved_formulas(archive: zipfile.ZipFile, part: str, root: str) -> dict[int, list[int]]:
    """Sheet row -> positions of its formula cells that hold no saved value (openpyxl reads
    them as empty). A second pass over the sheet, run only when it has formulas."""
    cells = _FormulaCells(root)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = cells.start
    parser.EndElementHandler = cells.end
    parser.CharacterDataHandler = cells.text
    with archive.open(part) as stream:
        parser.ParseFile(stream)
    return cells.found


_UNSAVED = "a formula with no saved value: open and save the workbook in Excel, or export CSV"


def _sheet_grid(
    rows: Iterator[tuple[Any, ...]], unsaved: dict[int, list[int]], filename: str
) -> _Grid:
    """The grid of a sheet's rows. Data cells over CELL_MAX_CHARS and formulas without a saved
    value are row errors; the sheet's text is bounded (a shared string may fill many cells)."""
    records: list[list[str]] = []
    lines: list[int] = []
    errors: list[RowError] = []
    text = 0
    for number, row in enumerate(rows, start=1):
        if number > _EXCEL_MAX_ROWS:
            raise FileRefused(f"{filename}: the first sheet has rows beyond Excel's last row")
        if not row:
            continue  # a row openpyxl fills in for a gap in the row numbers
        if len(row) > limits.MAX_COLUMNS:
            raise FileRefused(
                f"{filename}: row {number:,} of the first sheet reaches column {len(row):,}; at "
                f"most {limits.MAX_COLUMNS:,} columns are allowed"
            )
        cells = [_cell_text(cell) for cell in row]
        problems = _cell_problems(
            cells, records[0] if records else None, unsaved.get(number, ()), number, filename
        )
        text += sum(map(len, cells))
        if text > limits.XLSX_MAX_UNCOMPRESSED_BYTES:
            raise FileRefused(
                f"{filename}: the cells of the first sheet hold more than "
                f"{_megabytes(limits.XLSX_MAX_UNCOMPRESSED_BYTES)} of text (one saved text may "
                "fill many cells); save it as CSV"
            )
        if problems or "".join(cells).strip():
            records.append(cells)
            lines.append(number)
            errors += problems
    if not records:
        raise FileRefused(f"{filename}: the first sheet is empty")
    grid = _grid_from_records(records, lines)
    return grid._replace(misfits=[*grid.misfits, *errors])


def _cell_problems(
    cells: list[str], header: list[str] | None, unsaved: Sequence[int], number: int, filename: str
) -> list[RowError]:
    """The errors of a data row's cells under the header, blanking the cells over the limit."""
    if header is None:
        if unsaved and "".join(cells).strip():
            raise FileRefused(f"{filename}: the header (row {number}) holds {_UNSAVED}")
        return []
    width = len(header)
    problems = [
        RowError(number, header[position].strip(), _UNSAVED)
        for position in unsaved
        if position < width
    ]
    for position, cell in enumerate(cells[:width]):
        if len(cell) > limits.CELL_MAX_CHARS:
            problems.append(RowError(number, header[position].strip(), _too_long(len(cell))))
            cells[position] = ""
    return problems


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


# --- the table -------------------------------------------------------------------------------


def _table(grid: _Grid, filename: str, notes: tuple[str, ...]) -> Table:
    """A checked Table: named, stripped columns without blank rows; long cells are row errors."""
    if not grid.header:
        raise FileRefused(f"{filename}: the file is empty")
    names = [name.strip() for name in grid.header]
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
    errors = [*grid.misfits, *_blank_long_cells(cells, grid.lines)]
    filled = (cells != "").any(axis=1).to_numpy() | np.isin(grid.lines, [e.line for e in errors])
    if not filled.any():
        raise FileRefused(f"{filename}: the file has a header but no data rows")
    rows = cells[filled].reset_index(drop=True)
    # A reported cell (too long, a formula without a value) or row (too long) was left empty.
    blanked = {(error.line, error.column) for error in errors if error.column}
    blanked |= {(line, name) for line in grid.blank_rows for name in names}
    return Table(
        names, rows, grid.lines[filled], filename, tuple(errors), notes, frozenset(blanked)
    )


def _blank_long_cells(cells: pd.DataFrame, lines: np.ndarray) -> list[RowError]:
    """Row errors for the cells over CELL_MAX_CHARS, which are blanked (no reason quotes them)."""
    errors = []
    for place, name in enumerate(cells.columns):
        lengths = _numpy(pc.utf8_length(_arrow(cells[name]))) if len(cells) else np.array([])
        long = np.flatnonzero(lengths > limits.CELL_MAX_CHARS)
        if len(long):
            errors += [
                RowError(int(lines[row]), name, _too_long(int(lengths[row])))
                for row in long.tolist()
            ]
            cells.iloc[long, place] = ""
    return errors


def _has_data(cells: pd.DataFrame, position: int) -> bool:
    """Whether a positional column has a non-empty cell."""
    return bool(len(cells)) and bool((cells[f"c{position}"] != "").any())


def _check_header(names: dict[int, str], line: int, filename: str) -> None:
    """Refuse a header too wide or long, with names equal but for case, or a first line that
    holds values, not names."""
    _check_header_size(list(names.values()), len(names), filename)
    seen: dict[str, tuple[int, str]] = {}
    for position, name in names.items():
        key = name.casefold()
        if key in seen:
            first, other = seen[key]
            if other == name:
                raise FileRefused(
                    f"{filename}: the header names column '{name}' twice (columns "
                    f"{first} and {position}); rename one"
                )
            # "mql_at" and "MQL_AT": one would go to attributes unseen
            raise FileRefused(
                f"{filename}: columns '{other}' and '{name}' (columns {first} and {position}) "
                "differ only in case; rename one"
            )
        seen[key] = (position, name)
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
        self.blanked = table.blanked
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

    def add_missing(self, positions: np.ndarray, column: str, reason: str) -> None:
        """Record an empty required cell, unless the reader reported the cell (it was blanked)."""
        if self.blanked:
            lines = self.lines[positions].tolist()
            positions = positions[[(line, column) not in self.blanked for line in lines]]
        self.add(positions, column, reason)

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
        self.far_offset = np.zeros(len(values), dtype=bool)  # beyond ±14:00: done, as errors

    def far(self, positions: np.ndarray) -> None:
        """Rows whose UTC offset is beyond ±14:00: no instant, one error each."""
        self.far_offset[positions] = True
        self.done[positions] = True
        self.utc[positions] = np.datetime64("NaT")

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
    far = np.flatnonzero(column.far_offset)
    reader.problems.add(
        far, label, _bad_reasons(values, far, "the UTC offset of '{value}' is beyond ±14:00")
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
    offsets = pc.extract_regex(tail.filter(pa.array(offset)), _OFFSET_AT_END)
    if isinstance(offsets, pa.ChunkedArray):  # a large file's column comes in blocks
        offsets = offsets.combine_chunks()
    minutes = _offset_minutes(offsets)
    column.far(positions[offset][np.abs(minutes) > _MAX_OFFSET_MINUTES])
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
    far = matched & (np.abs(offsets) > _MAX_OFFSET_MINUTES)
    usable = (year_first | day_month) & valid_hour & ~far
    naive = _compose(year, month, day, hour, number["M"], number["S"], _nanoseconds(parts), usable)
    aware = ~np.isnan(offsets)
    result = np.full(len(positions), np.datetime64("NaT"), dtype="datetime64[ns]")
    local = ~np.isnat(naive) & ~aware
    if local.any():
        result[local] = _localize(pd.Series(naive[local]), column.reader.zone)
    shifted = ~np.isnat(naive) & aware
    result[shifted] = naive[shifted] - (offsets[shifted] * 60).astype("timedelta64[s]")
    _settle(column, positions, result)
    column.far(positions[far])
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


def _parse_numbers(values: pd.Series, label: str, problems: _Problems, name: str) -> np.ndarray:
    """float64 numbers (NaN = not supplied); "1.234,50", "1,234.50" and "$ 1 234" are read.

    Not finite ("inf", "1e400") is not a number; an amount is at least 0 and at most MONEY_MAX, a
    score within ±SCORE_MAX_ABS (sums of absurd values would overflow the reports).
    """
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
    if name == "amount":
        negative = numbers < 0
        problems.add(
            positions[negative],
            label,
            _bad_reasons(values, positions[negative], "negative amount '{value}'"),
        )
        beyond, bound = numbers > limits.MONEY_MAX, f"above the limit of {limits.MONEY_MAX:,}"
    else:
        beyond, bound = np.abs(numbers) > limits.SCORE_MAX_ABS, f"beyond ±{limits.SCORE_MAX_ABS:,}"
    beyond &= ~not_number  # "1e400" is already not a number
    problems.add(
        positions[beyond],
        label,
        _bad_reasons(values, positions[beyond], f"{name} '{{value}}' is {bound}"),
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
        self._texts: dict[tuple[tuple[str, ...], bool], pd.Series] = {}

    def text(self, name: str) -> pd.Series:
        """The stripped text of a field; ids in one Unicode spelling."""
        key = (tuple(self.mapping[name]), name in _IDS)
        if key not in self._texts:
            text = _text_of(self.table, key[0])
            self._texts[key] = _normal_ids(text) if key[1] else text
        return self._texts[key]

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
                reader.text(name), reader.label(name), reader.problems, name
            )
        else:
            columns[name] = _optional_text(reader.text(name))
    _check_external_ids(reader)
    _check_widths(reader, _LEAD_WIDTHS)
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
    reader.problems.add_missing(missing, label, "missing external id")
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


def _check_widths(reader: _Reader, widths: Mapping[str, int]) -> None:
    """A text longer than its stored column is a row error, checked before any database sees it
    (PostgreSQL would abort the whole import, SQLite would store it whole)."""
    for name, width in widths.items():
        if name not in reader.mapping:
            continue
        lengths = _numpy(pc.utf8_length(_arrow(reader.text(name))))
        long = np.flatnonzero(lengths > width)
        reader.problems.add(
            long,
            reader.label(name),
            [
                f"{name} is {n:,} characters long; at most {width:,} are allowed"
                for n in lengths[long].tolist()
            ],
        )


def _normal_ids(values: pd.Series) -> pd.Series:
    """Ids in one spelling, so that "José" (NFC or NFD), "Ｌ００１" and "L0\u200b01" are not new
    leads: NFKC (it composes like NFC and also folds fullwidth digits and letters), without
    zero-width characters, stripped."""
    text = _arrow(values)
    if pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return values  # NFKC leaves ASCII alone, and the zero-width characters are not ASCII
    text = pc.utf8_normalize(text, "NFKC")
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _ZERO_WIDTH, ""))
    return pd.Series(text.to_pandas(), dtype=values.dtype)


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
    reader.problems.add_missing(
        np.flatnonzero(~_filled(leads)), reader.label("lead_external_id"), "missing lead id"
    )
    at_text = reader.text("at")
    reader.problems.add_missing(
        np.flatnonzero(~_filled(at_text)), reader.label("at"), "missing touch time"
    )
    _check_widths(reader, limits.TOUCH_FIELD_MAX_CHARS)
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
        writer.writerow([error.line, inert(error.column), inert(error.reason)])
    return buffer.getvalue()
