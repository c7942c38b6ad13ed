"""`parse_leads`: lead rows as canonical fields plus the unmapped columns as attributes, with the
checks only leads have: an id on every row and no repeats, stage dates not before creation,
email addresses, and rejection reasons from the agreement's list."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from core import limits
from core.ingest.arrays import _arrow, _filled, _matches
from core.ingest.fields import LEAD_FIELDS, LEAD_NUMBERS, LEAD_TIMESTAMPS
from core.ingest.mapping import _check_mapping
from core.ingest.problems import _bad_reasons
from core.ingest.results import ParsedFile, Table
from core.ingest.rows import _check_widths, _column, _Reader
from core.ingest.values import _lookup, _optional_text, _parse_numbers, _slug

# The stored widths of the lead's text fields; `source` is an option, which the services check.
_LEAD_WIDTHS = {
    name: width for name, width in limits.LEAD_FIELD_MAX_CHARS.items() if name != "source"
}
# Run by pyarrow (RE2), where \s means ASCII spaces.
_EMAIL = r"^[^@\s]+@[^@\s]+$"


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
