"""Lead and touch files (CSV, XLSX) -> validated canonical rows plus row-level errors (DESIGN §6).

Pure: no streamlit, no database. `read_table` turns a file's bytes into text cells with the
physical line of every row; `resolve_mapping` says which columns feed which canonical field;
`parse_leads` and `parse_touches` parse and check every row, vectorized, and return the good rows
as a DataFrame and every problem of the bad rows as a `RowError`. The upsert lives in core.services.

What lives where, lowest first (a module imports only modules above it in this list; `dates` names
`rows._Reader` in annotations only):

- `results`: the errors (UsageError, UnknownField, FileRefused) and results (RowError, Table,
  ParsedFile).
- `fields`: the canonical fields of lead and touch files (LEAD_FIELDS, TOUCH_FIELDS…), which
  hold timestamps, numbers or ids, and which are required.
- `arrays`: pyarrow/numpy helpers on columns of text cells.
- `grid`: what both readers share: the raw grid, the header checks, the Table made from a grid.
- `csv_reader`: delimited text: encoding, delimiter, the bounded record scan, pyarrow's reader
  and the csv module's tolerant one, rows too long to parse.
- `xlsx_reader`: the first sheet of a workbook: the zip and XML bounds checked before openpyxl
  reads it, the formula cells without a saved value, cells as CSV text.
- `reading`: `read_table`, which refuses a file by its size or kind, then picks the reader.
- `records`: `read_rows`, the same Table from rows given as values (an API batch, a
  connector's page).
- `mapping`: synonyms, PRESETS, `suggest_mapping`, `resolve_mapping`, and the check of a
  mapping against a table.
- `problems`: the row problems of one parse, and their reasons.
- `dates`: dates, times, UTC offsets and zones, to UTC instants.
- `values`: a field's text, ids in one spelling, numbers, lookups of loosely written values.
- `rows`: the state of one parse, the frame columns and the width checks, shared by leads and
  touches.
- `leads`: `parse_leads` and the checks only leads have (ids, stage order, emails, reasons).
- `touches`: `parse_touches`, the kinds and the automated flag.
- `download`: `errors_csv`, the row errors as a CSV to download.
"""

from core.ingest.download import errors_csv
from core.ingest.fields import KINDS as KINDS  # not in __all__, kept from the single module
from core.ingest.fields import LEAD_FIELDS, LEAD_TIMESTAMPS, TOUCH_FIELDS, TOUCH_KINDS
from core.ingest.fields import LEAD_NUMBERS as LEAD_NUMBERS  # likewise
from core.ingest.leads import parse_leads
from core.ingest.mapping import PRESETS, resolve_mapping, suggest_mapping
from core.ingest.reading import read_table
from core.ingest.records import read_rows
from core.ingest.results import FileRefused, ParsedFile, RowError, Table, UnknownField, UsageError
from core.ingest.touches import parse_touches

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
    "read_rows",
    "read_table",
    "resolve_mapping",
    "suggest_mapping",
]
