"""Hostile lead and touch files, made by code: what each must do on import (DESIGN §6).

Every case is a small record: a name, the kind of file (leads or touches), a file name, a
builder of its bytes, and what must happen: the whole file refused (FileRefused, or UsageError
for a bad option) with a message naming the file and a limit or problem, or row errors at
given lines and columns, with the counts core.services.imports reports when BASELINE_LEADS and
BASELINE_TOUCHES are already stored (read = inserted + updated + unchanged + rejected).

AMPLIFICATION maps the heavy cases (small files that made the importer do huge work) to their
builders, for a benchmark. Builders run in memory in well under a second: a repetitive zip
member is deflated once and repeated (_Repeated), not compressed byte by byte.
"""

from __future__ import annotations

import codecs
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, NamedTuple

from core import limits

SOURCE = "crm"
TZ = "UTC"
# The rejection reasons of core.agreement.template, which the service test activates.
REASONS = (
    "not_a_fit", "no_budget", "duplicate", "recycled", "bad_contact_data",
    "student_or_job_seeker",
)  # fmt: skip
BASELINE_LEADS = (
    b"external_id,created_at,mql_at,owner,channel,email,amount,score\n"
    b"L001,2018-01-02 09:00:00,2018-01-02 09:00:00,ana,social,l001@example.com,100,10\n"
    b"L002,2018-01-03 09:00:00,2018-01-03 09:00:00,ben,paid_search,l002@example.com,200,20\n"
    b"L003,2018-01-04 09:00:00,2018-01-04 09:00:00,ana,organic_search,l003@example.com,300,30\n"
)
BASELINE_TOUCHES = (
    b"lead_external_id,at,kind,rep,automated\n"
    b"L001,2018-01-02 10:00:00,call,ana,false\n"
    b"L002,2018-01-03 11:00:00,email,ben,true\n"
)
_NONE: Mapping[str, Any] = MappingProxyType({})


class Problem(NamedTuple):
    """A row error: its physical line, the file's column ("" for the row) and words it holds."""

    line: int
    column: str
    words: str


class Counts(NamedTuple):
    """What an import reports."""

    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int


@dataclass(frozen=True)
class Case:
    """One hostile file and what must happen to it.

    `refused` / `usage`: the message (which names the file, for a refusal) holds these words.
    `invalid`: an option only the import service sees refuses the import (InvalidInput).
    `errors`: exactly the (line, column) pairs core.ingest reports, each reason holding the words.
    `stored_errors`: more row errors that only the service finds (it knows the stored leads).
    `counts`: the service's counts with the baseline stored. `options`: overrides, preset, tz,
    date_format and source, as the CLI passes them.
    """

    name: str
    kind: str
    filename: str
    build: Callable[[], bytes]
    refused: str | None = None
    usage: str | None = None
    invalid: str | None = None
    errors: tuple[Problem, ...] = ()
    stored_errors: tuple[Problem, ...] = ()
    counts: Counts | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: _NONE)

    @property
    def source(self) -> str:
        """The --source the file is imported with."""
        return self.options.get("source", SOURCE)

    @property
    def tz(self) -> str:
        """The --tz the file is imported with."""
        return self.options.get("tz", TZ)


# --- text files ------------------------------------------------------------------------------


def _text(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> Callable[[], bytes]:
    """A builder of a text file of these lines."""
    return lambda: (newline.join(lines) + newline).encode(encoding)


def _raw(data: bytes) -> Callable[[], bytes]:
    """A builder of these bytes."""
    return lambda: data


def _junk() -> bytes:
    """Bytes that are no text: random, with NULs."""
    return b"\x89\x01\xfe\x00" + random.Random(11).randbytes(4096)


def _wide_csv(columns: int) -> Callable[[], bytes]:
    """A builder of a header of `columns` names and one row."""
    return lambda: (
        ",".join(f"c{i:06d}" for i in range(columns)) + "\n" + ",".join(["1"] * columns) + "\n"
    ).encode()


_COLUMNS_100K = _wide_csv(100_000)


def _many_rows() -> bytes:
    """One row more than CSV_MAX_ROWS, as small as rows get."""
    return b"external_id,mql_at\n" + b"N1,2018-01-05\n" * (limits.CSV_MAX_ROWS + 1)


def _huge_cell() -> bytes:
    """A 50 MB note in the middle of a good file."""
    return (
        b"external_id,mql_at,note\nN01,2018-01-05,"
        + b"x" * 50_000_000
        + b"\nN02,2018-01-06,short\n"
    )


def _huge_row() -> bytes:
    """A row of 25 MB of short cells: too long to hold 500 cells of 10,000 characters."""
    return b"external_id,mql_at,note\nN01,2018-01-05,ok\n" + b"x," * 12_500_000 + b"\n"


_LEADS = "external_id,mql_at,channel"


def _blocks() -> bytes:
    """30,000 good rows, 2 MB: pyarrow reads them in blocks, as it reads real exports."""
    rows = "".join(
        f"B{i:05d},2018-01-05T10:00:00{'+02:00' if i % 2 else ''},social,{'n' * 20}\n"
        for i in range(30_000)
    )
    return f"{_LEADS},note\n{rows}".encode()


# --- workbooks -------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET = "xl/worksheets/sheet1.xml"
_STRINGS = "xl/sharedStrings.xml"


@dataclass(frozen=True)
class _Repeated:
    """A zip member's content as head + block × times + tail, deflated once per part: after a
    full flush, deflate writes the same bytes for the same block, so a gigabyte costs a copy."""

    head: bytes
    block: bytes
    times: int
    tail: bytes


def _member(content: bytes | _Repeated) -> tuple[bytes, int, int]:
    """A member's raw deflate stream, CRC-32 and inflated size."""
    level = 9 if isinstance(content, _Repeated) else 1  # 9: a smaller bomb; 1: a faster build
    if isinstance(content, bytes):
        content = _Repeated(content, b"", 0, b"")
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    head = deflate.compress(content.head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(content.block) + deflate.flush(zlib.Z_FULL_FLUSH)
    stream = head + block * content.times + deflate.compress(content.tail) + deflate.flush()
    crc = zlib.crc32(content.head)
    for _ in range(content.times):
        crc = zlib.crc32(content.block, crc)
    crc = zlib.crc32(content.tail, crc)
    size = len(content.head) + len(content.block) * content.times + len(content.tail)
    return stream, crc, size


def _zip(members: Mapping[str, bytes | _Repeated], declared: Mapping[str, int] = _NONE) -> bytes:
    """A zip archive of deflated members; `declared` overrides the sizes its directory states."""
    out, directory = io.BytesIO(), io.BytesIO()
    # Local header and directory entry: version 2.0, no flags, deflate, dated 1980-01-01 (33).
    for name, content in members.items():
        stream, crc, size = _member(content)
        size = declared.get(name, size)
        encoded, offset = name.encode(), out.tell()
        sizes = (crc, len(stream), size, len(encoded))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, *sizes, 0))
        out.write(encoded + stream)
        directory.write(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, *sizes, 0, 0, 0, 0, 0,
                        offset) + encoded
        )  # fmt: skip
    count, start = len(members), out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count,
                          len(directory.getvalue()), start, 0))  # fmt: skip
    return out.getvalue()


@cache
def _template() -> dict[str, bytes]:
    """The parts of a workbook written by openpyxl, with a shared-strings part declared."""
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    kind = "officedocument.spreadsheetml.sharedStrings"
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
        f'<Override PartName="/{_STRINGS}" ContentType="application/vnd.openxmlformats-{kind}'
        '+xml"/></Types>').encode())
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdS" Type="{relation}" Target="sharedStrings.xml"/>'
        "</Relationships>".encode())
    return parts


def _book(sheet: bytes | _Repeated, strings: bytes | _Repeated | None = None,
          declared: Mapping[str, int] = _NONE, parts: Mapping[str, bytes] = _NONE) -> bytes:
    """A workbook with this first sheet's XML (and shared strings, else an empty table)."""
    members: dict[str, bytes | _Repeated] = dict(_template())
    members[_SHEET] = sheet
    members[_STRINGS] = strings if strings is not None else _sst(b"")
    members.update(parts)
    return _zip(members, declared)


def _sheet(rows: bytes) -> bytes:
    """A worksheet's XML around these <row> elements."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{_MAIN}"><sheetData>'
    ).encode() + rows + b"</sheetData></worksheet>"


def _sst(items: bytes) -> bytes:
    """A shared-strings part around these <si> elements."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{_MAIN}">'.encode() + items + (
        b"</sst>"
    )


def _cell(value: str | int) -> str:
    """One cell: an inline string, or a number."""
    if isinstance(value, int):
        return f"<c><v>{value}</v></c>"
    return f'<c t="inlineStr"><is><t>{value}</t></is></c>'


def _row(*values: str | int, number: int | None = None) -> bytes:
    """One <row> of cells."""
    at = f' r="{number}"' if number else ""
    return f"<row{at}>{''.join(_cell(value) for value in values)}</row>".encode()


_HEADER_ROW = _row("external_id", "mql_at", "channel")


def _repeated_sheet(head: bytes, row: bytes, times: int) -> _Repeated:
    """A sheet of a head and a row repeated `times` times."""
    whole = _sheet(b"\0")
    start, end = whole.split(b"\0")
    return _Repeated(start + head, row, times, end)


def _xlsx(*rows: bytes) -> Callable[[], bytes]:
    """A builder of a workbook whose first sheet has these rows."""
    return lambda: _book(_sheet(b"".join(rows)))


def _openpyxl_book(*rows: tuple[Any, ...], first_empty: bool = False) -> bytes:
    """A workbook written by openpyxl (its formulas have no saved value, as in a fresh file)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    if first_empty:
        sheet = book.create_sheet("data")
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _strings_bomb() -> bytes:
    """1 MB whose shared strings inflate to 1 GiB: 1,024 strings of 1 MiB."""
    item = b"<si><t>" + b"a" * (2**20 - 17) + b"</t></si>"
    head, tail = _sst(b"\0").split(b"\0")
    sheet = _sheet(_HEADER_ROW + b'<row><c t="s"><v>0</v></c></row>')
    return _book(sheet, _Repeated(head, item, 1024, tail))


def _many_strings() -> bytes:
    """One shared string more than XLSX_MAX_SHARED_STRINGS (tiny ones: a small file)."""
    head, tail = _sst(b"\0").split(b"\0")
    item = b"<si><t>a</t></si>"
    strings = _Repeated(head, item * 1000, limits.XLSX_MAX_SHARED_STRINGS // 1000, item + tail)
    return _book(_sheet(_HEADER_ROW + _row("N01", "2018-01-05", "x")), strings)


def _giant_string() -> bytes:
    """One shared string of 200 MB, within the workbook's inflate limit."""
    head, tail = _sst(b"<si><t>\0</t></si>").split(b"\0")
    strings = _Repeated(head, b"b" * 2**20, 200, tail)
    return _book(_sheet(_HEADER_ROW + b'<row><c t="s"><v>0</v></c></row>'), strings)


def _reused_string() -> bytes:
    """A 10,000-character shared string (the limit) in 20 columns of 99,000 rows: 20 GB of text."""
    head, tail = _sst(b"<si><t>\0</t></si>").split(b"\0")
    strings = _Repeated(head, b"c" * limits.CELL_MAX_CHARS, 1, tail)
    header = "".join(_cell(f"col{i}") for i in range(20)).encode()
    row = b"<row>" + b'<c t="s"><v>0</v></c>' * 20 + b"</row>"
    return _book(_repeated_sheet(b"<row>" + header + b"</row>", row, 99_000), strings)


def _many_cells() -> bytes:
    """200,000 rows of 11 empty cells: within the row and column limits, over XLSX_MAX_CELLS."""
    return _book(_repeated_sheet(_HEADER_ROW, b"<row>" + b"<c/>" * 11 + b"</row>", 199_999))


def _million_rows() -> bytes:
    """3,000,000 rows, 216 MB of XML (the issue's 15 MB workbook, here deflated once a block)."""
    rows = b"".join(_row(f"N{i:03d}", 43105) for i in range(1000))
    return _book(_repeated_sheet(_HEADER_ROW, rows, 3000))


def _rows_over_limit() -> bytes:
    """One row more than XLSX_MAX_ROWS, numbered (r="…") as Excel writes them."""
    rows = b"".join(
        _row(f"N{number}", "2018-01-05", "social", number=number)
        for number in range(2, limits.XLSX_MAX_ROWS + 3)
    )
    return _book(_sheet(_row("external_id", "mql_at", "channel", number=1) + rows))


def _far_right() -> bytes:
    """200,000 rows whose one cell is in column XFD: openpyxl would give each 16,384 cells."""
    row = b'<row><c r="XFD1"><v>1</v></c></row>'
    return _book(_repeated_sheet(b"", row, limits.XLSX_MAX_ROWS))


def _laughs(root: str) -> bytes:
    """A DTD of nested entities: &e9; expands to 10^9 characters ("billion laughs")."""
    entities = '<!ENTITY e0 "laugh">' + "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} [{entities}]>\n'.encode()


def _entity_strings() -> bytes:
    """Shared strings whose only string is a billion laughs."""
    strings = _laughs("sst") + f'<sst xmlns="{_MAIN}"><si><t>&e9;</t></si></sst>'.encode()
    return _book(_sheet(_HEADER_ROW + b'<row><c t="s"><v>0</v></c></row>'), strings)


def _entity_sheet() -> bytes:
    """A sheet whose inline string is a billion laughs."""
    body = f'<worksheet xmlns="{_MAIN}"><sheetData>'.encode() + _HEADER_ROW + (
        b'<row><c t="inlineStr"><is><t>&e9;</t></is></c></row></sheetData></worksheet>'
    )
    return _book(_laughs("worksheet") + body)


def _lying_size() -> bytes:
    """A sheet whose zip directory says it inflates to 100 bytes (it is longer)."""
    sheet = _sheet(_HEADER_ROW + _row("N01", "2018-01-05", "social"))
    return _book(sheet, declared={_SHEET: 100})


def _no_sheets() -> bytes:
    """A workbook whose list of sheets is empty."""
    workbook = _template()["xl/workbook.xml"]
    start, end = workbook.index(b"<sheets>"), workbook.index(b"</sheets>") + len(b"</sheets>")
    empty = workbook[:start] + b"<sheets/>" + workbook[end:]
    return _book(_sheet(b""), parts={"xl/workbook.xml": empty})


def _not_a_workbook() -> bytes:
    """A zip of one text file."""
    return _zip({"readme.txt": b"hello"})


def _formula_book(saved: bool) -> bytes:
    """A sheet with a formula cell, with or without its saved value."""
    value = b"<v>social</v>" if saved else b""
    formula = b'<c t="str"><f>LOWER("SOCIAL")</f>' + value + b"</c>"
    rows = _HEADER_ROW + b"<row>" + _cell("N01").encode() + _cell("2018-01-05").encode() + (
        formula + b"</row>" + _row("N02", "2018-01-06", "social")
    )
    return _book(_sheet(rows))


def _long_text() -> str:
    """One character more than a cell may hold."""
    return "z" * (limits.CELL_MAX_CHARS + 1)


# --- the corpus ------------------------------------------------------------------------------


def _refused(name: str, filename: str, build: Callable[[], bytes], words: str,
             kind: str = "leads", **options: Any) -> Case:
    """A case whose whole file is refused."""
    return Case(name, kind, filename, build, refused=words, options=options)


def _rows(name: str, build: Callable[[], bytes], counts: Counts, *errors: Problem,
          kind: str = "leads", filename: str = "", stored: tuple[Problem, ...] = (),
          **options: Any) -> Case:
    """A case imported with row errors (or none)."""
    filename = filename or f"{kind}.csv"
    return Case(name, kind, filename, build, errors=errors, stored_errors=stored,
                counts=counts, options=options)


P = Problem
OWNER_65 = "o" * 65
LONG_ID = "N" * 129

# fmt: off
CASES: tuple[Case, ...] = (
    # --- files refused whole: not a table at all
    _refused("empty file", "leads.csv", _raw(b""), "the file is empty"),
    _refused("only blank lines", "leads.csv", _raw(b"\n \r\n\t\n"), "the file is empty"),
    _refused("only a header", "leads.csv", _text(_LEADS), "a header but no data rows"),
    _refused("NUL bytes", "leads.csv", _raw(b"external_id,mql_at\nN01\x00,2018-01-05\n"),
             "not a CSV text file"),
    _refused("binary junk", "leads.csv", _junk, "not a CSV text file"),
    _refused("an .xls (OLE) file", "leads.xls",
             _raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)), "(.xls) files are not"),
    _refused("UTF-16 without a BOM", "leads.csv",
             _text(_LEADS, "N01,2018-01-05,social", encoding="utf-16-le"), "not a CSV text"),
    _refused("broken UTF-16", "leads.csv", _raw(codecs.BOM_UTF16_LE + b"e\x00x\x00t"),
             "starts like UTF-16 text but is not"),
    _refused("unbalanced quotes swallow the file", "leads.csv",
             _text("external_id,mql_at,note", 'N01,2018-01-05,"never closed',
                   "N02,2018-01-06,fine", "N03,2018-01-07,fine"), "line 2: not valid CSV"),
    # --- the header
    _refused("duplicate header", "leads.csv", _text("external_id,mql_at,mql_at", "N01,a,b"),
             "names column 'mql_at' twice"),
    _refused("headers equal but for case", "leads.csv",
             _text("external_id,mql_at,MQL_AT", "N01,2018-01-05,2018-01-06"),
             "columns 'mql_at' and 'MQL_AT' (columns 2 and 3) differ only in case"),
    _refused("blank header over data", "leads.csv",
             _text("external_id,,mql_at", "N01,x,2018-01-05"), "column 2 holds data but has no"),
    _refused("a header that looks like data", "leads.csv",
             _text("N01,2018-01-05", "N02,2018-01-06"), "holds values such as '2018-01-05'"),
    _refused("a column name over HEADER_MAX_CHARS", "leads.csv",
             _text("external_id," + "h" * (limits.HEADER_MAX_CHARS + 1), "N01,x"),
             "201 characters long ('hhh"),
    _refused("a 100 MB single line", "leads.csv", lambda: b"x" * 100_000_000,
             f"at most {limits.HEADER_MAX_CHARS} are allowed"),
    _refused("one column more than MAX_COLUMNS", "leads.csv", _wide_csv(limits.MAX_COLUMNS + 1),
             "501 columns; at most 500 are allowed"),
    _refused("100,000 columns", "contacts.csv", _COLUMNS_100K,
             "contacts.csv: 100,000 columns; at most 500 are allowed"),
    _refused("rows over CSV_MAX_ROWS", "leads.csv", _many_rows,
             "more than 2,000,000 rows; at most 2,000,000 are allowed"),
    _refused("a file over FILE_MAX_BYTES", "leads.csv",
             lambda: b"\n" * (limits.FILE_MAX_BYTES + 1), "(512 MB) are allowed"),
    _refused("dates that fit day-first and month-first", "leads.csv",
             _text("external_id,mql_at", "N01,03-04-2018", "N02,05-06-2018"),
             "read as day-first or month-first alike"),
    _refused("a mapped column not in the file", "leads.csv", _text(_LEADS, "N01,2018-01-05,x"),
             "column 'mql_date' (from --map mql_at=mql_date) is not in the file",
             overrides={"external_id": "external_id", "mql_at": "mql_date"}),
    # --- options
    Case("an unknown --tz", "leads", "leads.csv", _text(_LEADS, "N01,2018-01-05,social"),
         usage="unknown time zone 'Mars/Olympus'", options={"tz": "Mars/Olympus"}),
    Case("a --source over its width", "leads", "leads.csv",
         _text(_LEADS, "N01,2018-01-05,social"), invalid="65 characters; at most 64 are allowed",
         options={"source": "s" * 65}),
    # --- workbooks refused whole
    _refused("a zip that is not a workbook", "leads.xlsx", _not_a_workbook,
             "not a readable XLSX workbook"),
    _refused("a zip named .csv", "leads.csv", _not_a_workbook, "not a readable XLSX workbook"),
    _refused("a workbook without sheets", "leads.xlsx", _no_sheets, "no worksheet"),
    _refused("an empty first sheet", "leads.xlsx",
             lambda: _openpyxl_book(("external_id", "mql_at"), ("N01", "2018-01-05"),
                                    first_empty=True), "the first sheet is empty"),
    _refused("shared strings that inflate to 1 GiB", "leads.xlsx", _strings_bomb,
             "the workbook inflates to 1,024 MB; at most 256 MB are allowed"),
    _refused("shared strings over XLSX_MAX_SHARED_STRINGS", "leads.xlsx", _many_strings,
             "more than 2,000,000 shared strings"),
    _refused("one shared string of 200 MB", "leads.xlsx", _giant_string,
             "one shared string takes"),
    _refused("a 10,000-character string in 2,000,000 cells", "leads.xlsx", _reused_string,
             "the cells of the first sheet hold more than 256 MB of text"),
    _refused("cells over XLSX_MAX_CELLS", "leads.xlsx", _many_cells,
             "the first sheet has more than 2,000,000 cells; at most 2,000,000"),
    _refused("3,000,000 rows", "leads.xlsx", _million_rows,
             "the first sheet has more than 200,000 rows"),
    _refused("numbered rows over XLSX_MAX_ROWS", "leads.xlsx", _rows_over_limit,
             "the first sheet has more than 200,000 rows"),
    _refused("a cell in column XFD", "leads.xlsx", _far_right, "reaches column 16,384"),
    _refused("a row of 1,000 cells", "leads.xlsx",
             _xlsx(_HEADER_ROW, b"<row>" + b"<c><v>1</v></c>" * 1000 + b"</row>"),
             "a row of the first sheet has more than 500 cells"),
    _refused("a row number beyond Excel's", "leads.xlsx",
             _xlsx(_HEADER_ROW, _row("N01", "2018-01-05", "social", number=1_048_577)),
             "rows beyond Excel's last row"),
    _refused("entity expansion in shared strings", "leads.xlsx", _entity_strings,
             "xl/sharedStrings.xml declares a DTD"),
    _refused("entity expansion in the sheet", "leads.xlsx", _entity_sheet,
             "xl/worksheets/sheet1.xml declares a DTD"),
    _refused("a zip directory that understates a size", "leads.xlsx", _lying_size,
             "not a readable XLSX workbook"),
    _refused("a formula without a saved value in the header", "leads.xlsx",
             lambda: _openpyxl_book(("external_id", "=LOWER(\"MQL_AT\")"), ("N01", "2018-01-05")),
             "the header (row 1) holds a formula with no saved value"),
    # --- files whose good rows are kept
    _rows("ragged rows", _text(_LEADS, "N01,2018-01-05,social,extra", "N02,2018-01-06,social,",
                               "N03,2018-01-07"),
          Counts(3, 2, 0, 0, 1), P(2, "", "the row has 4 cells but the header has 3 columns")),
    _rows("a row of 100,000 cells", lambda: (
        f"{_LEADS}\nN01,2018-01-05,social\nN02,2018-01-06,{',x' * 100_000}\n").encode(),
          Counts(2, 1, 0, 0, 1), P(3, "", "the row has 100003 cells")),
    _rows("a row of 25 MB", _huge_row, Counts(2, 1, 0, 0, 1), P(3, "", "bytes long")),
    _rows("a cell over CELL_MAX_CHARS", _text("external_id,mql_at,note",
                                              f"N01,2018-01-05,{_long_text()}",
                                              "N02,2018-01-06,fine"),
          Counts(2, 1, 0, 0, 1), P(2, "note", "holds 10,001 characters; at most 10,000")),
    _rows("a 50 MB cell", _huge_cell, Counts(2, 1, 0, 0, 1),
          P(2, "note", "more than 10,000 characters; at most 10,000 are allowed")),
    _rows("an id over CELL_MAX_CHARS", _text(_LEADS, f"{_long_text()},2018-01-05,social",
                                             "N02,2018-01-06,social"),
          Counts(2, 1, 0, 0, 1), P(2, "external_id", "10,001 characters")),
    _rows("a good file read in blocks", _blocks, Counts(30_000, 30_000, 0, 0, 0)),
    _rows("UTF-8 with a BOM", lambda: codecs.BOM_UTF8 + _text(_LEADS, "N01,2018-01-05,social")(),
          Counts(1, 1, 0, 0, 0)),
    _rows("UTF-16 with a BOM", lambda: codecs.BOM_UTF16_LE + _text(
        _LEADS, "Jos\u00e9,2018-01-05,social", encoding="utf-16-le")(), Counts(1, 1, 0, 0, 0)),
    _rows("latin-1", _text(_LEADS, "Jos\u00e9,2018-01-05,social", "N02,2018-01-06,s\u00f3cial",
                           encoding="latin-1"), Counts(2, 2, 0, 0, 0)),
    _rows("CRLF", _text(_LEADS, "N01,2018-01-05,social", "N02,2018-01-06,social",
                        newline="\r\n"), Counts(2, 2, 0, 0, 0)),
    _rows("impossible dates", _text(_LEADS, "N01,2018-02-30,social", "N02,2018-01-05 25:61,x",
                                    "N03,2018-01-05 23:59,social"),
          Counts(3, 1, 0, 0, 2), P(2, "mql_at", "unparseable date '2018-02-30'"),
          P(3, "mql_at", "unparseable date '2018-01-05 25:61'")),
    _rows("years 9999 and 0001", _text(_LEADS, "N01,9999-12-31,social", "N02,0001-01-01,x",
                                       "N03,2199-12-31,social"),
          Counts(3, 1, 0, 0, 2), P(2, "mql_at", "out of range"), P(3, "mql_at", "out of range")),
    _rows("offsets beyond ±14:00", _text(
        _LEADS, "N01,2018-01-05T10:00:00+23:59,social", "N02,2018-01-05T10:00:00-14:30,social",
        "N03,25/01/2018 10:00 +15:00,social", "N04,2018-01-05T10:00:00+14:00,social",
        "N05,2018-01-05T10:00:00-12:00,social"),
          Counts(5, 2, 0, 0, 3), P(2, "mql_at", "beyond ±14:00"),
          P(3, "mql_at", "beyond ±14:00"), P(4, "mql_at", "beyond ±14:00")),
    _rows("negative amount", _text("external_id,mql_at,amount", "N01,2018-01-05,-5",
                                   "N02,2018-01-05,5"),
          Counts(2, 1, 0, 0, 1), P(2, "amount", "negative amount '-5'")),
    _rows("odd thousands separators", _text(
        "external_id,mql_at,amount", 'N01,2018-01-05,"1,23,456"', "N02,2018-01-05,1.234.5",
        'N03,2018-01-05,"1,2,3"', 'N04,2018-01-05,"1,234"'),
          Counts(4, 1, 0, 0, 3), P(2, "amount", "is not a number"),
          P(3, "amount", "is not a number"), P(4, "amount", "is not a number")),
    _rows("absurd amounts", _text(
        "external_id,mql_at,amount", "N01,2018-01-05,1e308", "N02,2018-01-05,1e400",
        "N03,2018-01-05,inf", "N04,2018-01-05,NaN", "N05,2018-01-05,1000000000000"),
          Counts(5, 1, 0, 0, 4), P(2, "amount", "above the limit of 1,000,000,000,000"),
          P(3, "amount", "not a number"), P(4, "amount", "not a number"),
          P(5, "amount", "not a number")),
    _rows("absurd scores", _text(
        "external_id,mql_at,score", "N01,2018-01-05,1e10", "N02,2018-01-05,-inf",
        "N03,2018-01-05,-1000000000", "N04,2018-01-05,1e-300"),
          Counts(4, 2, 0, 0, 2), P(2, "score", "beyond ±1,000,000,000"),
          P(3, "score", "not a number")),
    _rows("a bad email", _text("external_id,mql_at,email", "N01,2018-01-05,not-an-address",
                               "N02,2018-01-05,n02@example.com"),
          Counts(2, 1, 0, 0, 1), P(2, "email", "not an email address")),
    _rows("duplicate ids", _text(_LEADS, "N01,2018-01-05,social", "N01,2018-01-05,social",
                                 "N01,2018-01-06,paid"),
          Counts(3, 1, 0, 0, 2), P(3, "external_id", "duplicate of line 2 (identical row)"),
          P(4, "external_id", "duplicate of line 2")),
    _rows("missing id", _text(_LEADS, ",2018-01-05,social", "N02,2018-01-05,social"),
          Counts(2, 1, 0, 0, 1), P(2, "external_id", "missing external id")),
    _rows("ids that differ only by Unicode form", _text(
        _LEADS, "Jos\u00e9,2018-01-05,social", "Jose\u0301,2018-01-05,social",
        "\uff2c\uff10\uff10\uff11,2018-01-02 09:00:00,social",
        "L0\u200b02,2018-01-03 09:00:00,paid_search", "\u2060N07\ufeff,2018-01-06,social"),
          Counts(5, 2, 0, 2, 1), P(3, "external_id", "duplicate of line 2")),
    _rows("an unknown rejection reason", _text(
        "external_id,mql_at,rejected_at,rejection_reason", "N01,2018-01-05,2018-01-06,not_a_fit",
        "N02,2018-01-05,2018-01-06,too_pushy"),
          Counts(2, 1, 0, 0, 1), P(3, "rejection_reason", "is not in the agreement's list")),
    _rows("a stage before creation", _text(
        "external_id,created_at,won_at", "N01,2018-01-05 10:00,2018-01-04 10:00",
        "N02,2018-01-05 10:00,2018-01-06 10:00"),
          Counts(2, 1, 0, 0, 1), P(2, "won_at", "earlier than the creation date")),
    _rows("a stage before the stored creation", _text(
        "external_id,won_at", "L001,2017-12-01 10:00", "L002,2018-02-01 10:00"),
          Counts(2, 0, 1, 0, 1), stored=(P(2, "won_at", "before the lead's creation"),)),
    _rows("values over their stored width", _text(
        "external_id,mql_at,owner,email,company",
        f"N01,2018-01-05,{OWNER_65},n01@example.com,Acme",
        f"N02,2018-01-05,ana,{'e' * 243}@example.com,Acme",
        f"N03,2018-01-05,ana,n03@example.com,{'C' * 201}",
        f"{LONG_ID},2018-01-05,ana,n04@example.com,Acme",
        f"N05,2018-01-05,{'o' * 64},n05@example.com,{'C' * 200}"),
          Counts(5, 1, 0, 0, 4), P(2, "owner", "owner is 65 characters long; at most 64"),
          P(3, "email", "email is 255 characters long; at most 254"),
          P(4, "company", "at most 200"), P(5, "external_id", "at most 128")),
    _rows("an over-long value in a mapped column", _text(
        "mql_id,first_contact_date,sdr_id", f"N01,2018-01-05,{OWNER_65}", "N02,2018-01-05,ana"),
          Counts(2, 1, 0, 0, 1), P(2, "sdr_id", "owner is 65 characters long; at most 64"),
          overrides={"external_id": "mql_id", "mql_at": "first_contact_date", "owner": "sdr_id"}),
    _rows("a valid workbook", _xlsx(_HEADER_ROW, _row("N01", "2018-01-05", "social"),
                                    _row("L001", "2018-01-02 09:00:00", "social")),
          Counts(2, 1, 0, 1, 0), filename="leads.xlsx"),
    _rows("a formula without a saved value", lambda: _formula_book(saved=False),
          Counts(2, 1, 0, 0, 1), P(2, "channel", "a formula with no saved value"),
          filename="leads.xlsx"),
    _rows("a formula with its saved value", lambda: _formula_book(saved=True),
          Counts(2, 2, 0, 0, 0), filename="leads.xlsx"),
    _rows("a workbook cell over CELL_MAX_CHARS", lambda: _openpyxl_book(
        ("external_id", "mql_at", "note"), ("N01", "2018-01-05", _long_text()),
        ("N02", "2018-01-05", "fine")),
          Counts(2, 1, 0, 0, 1), P(2, "note", "holds 10,001 characters"), filename="leads.xlsx"),
    # --- touches
    _rows("garbage automated flag", _text(
        "lead_external_id,at,kind,automated", "L001,2018-01-05 10:00,call,maybe",
        "L001,2018-01-05 11:00,call,yes"),
          Counts(2, 1, 0, 0, 1), P(2, "automated", "'maybe' is not true or false"),
          kind="touches"),
    _rows("unknown touch kind", _text(
        "lead_external_id,at,kind", "L001,2018-01-05 10:00,carrier pigeon",
        "L001,2018-01-05 11:00,Phone call"),
          Counts(2, 1, 0, 0, 1), P(2, "kind", "unknown kind 'carrier pigeon'"), kind="touches"),
    _rows("a rep over its stored width", _text(
        "lead_external_id,at,rep", f"L001,2018-01-05 10:00,{OWNER_65}",
        "L001,2018-01-05 11:00,ana"),
          Counts(2, 1, 0, 0, 1), P(2, "rep", "rep is 65 characters long; at most 64"),
          kind="touches"),
    _rows("a lead id over its stored width", _text(
        "lead_external_id,at", f"{LONG_ID},2018-01-05 10:00", "L002,2018-01-05 11:00"),
          Counts(2, 1, 0, 0, 1), P(2, "lead_external_id", "at most 128"), kind="touches"),
    _rows("touch lead ids that differ only by Unicode form", _text(
        "lead_external_id,at,kind,rep", "\uff2c\uff10\uff10\uff11,2018-01-05 10:00,call,ana",
        "L0\u200b02,2018-01-05 10:00,call,ana", "L001,2018-01-02 10:00:00,call,ana"),
          Counts(3, 2, 0, 1, 0), kind="touches"),
    _rows("a touch of an unknown lead", _text(
        "lead_external_id,at", "NOPE,2018-01-05 10:00", "L003,2018-01-05 10:00"),
          Counts(2, 1, 0, 0, 1), stored=(P(2, "lead_external_id", "no lead 'NOPE'"),),
          kind="touches"),
    _rows("a touch without a time", _text(
        "lead_external_id,at,kind", "L001,,call", "L001,2018-01-05 10:00,call"),
          Counts(2, 1, 0, 0, 1), P(2, "at", "missing touch time"), kind="touches"),
)

# fmt: on

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names are unique"

# The heavy ones: small files that made the importer do huge work (a benchmark imports these).
AMPLIFICATION: dict[str, Callable[[], bytes]] = {
    "shared-strings bomb (1 MB -> 1 GiB)": _strings_bomb,
    "XLSX of 3,000,000 rows": _million_rows,
    "CSV of 100,000 columns": _COLUMNS_100K,
    "CSV rows over CSV_MAX_ROWS": _many_rows,
    "CSV with a 50 MB cell": _huge_cell,
    "XML entity expansion (billion laughs)": _entity_strings,
    "XLSX cell in column XFD x 200,000 rows": _far_right,
    "XLSX shared string of 200 MB": _giant_string,
    "XLSX 10,000-char string in 2,000,000 cells": _reused_string,
    "XLSX of 2,200,000 empty cells": _many_cells,
}
AMPLIFICATION_FILES = {
    "shared-strings bomb (1 MB -> 1 GiB)": "bomb.xlsx",
    "XLSX of 3,000,000 rows": "rows.xlsx",
    "CSV of 100,000 columns": "contacts.csv",
    "CSV rows over CSV_MAX_ROWS": "rows.csv",
    "CSV with a 50 MB cell": "cell.csv",
    "XML entity expansion (billion laughs)": "laughs.xlsx",
    "XLSX cell in column XFD x 200,000 rows": "wide.xlsx",
    "XLSX shared string of 200 MB": "string.xlsx",
    "XLSX 10,000-char string in 2,000,000 cells": "reused.xlsx",
    "XLSX of 2,200,000 empty cells": "cells.xlsx",
}
