"""Date columns to UTC instants, vectorized: ISO 8601 first, then Y-M-D with any separator and
D-M-Y or M-D-Y as the whole column settles it, or the user's --date-format. Naive values are read
in the import's IANA zone (checked by `_zone`); offsets beyond ±14:00 and dates outside 1900-2199
are row errors. A column whose dates read both day-first and month-first, or of which no value
fits --date-format, refuses the file."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.ingest.arrays import _arrow, _filled, _numpy
from core.ingest.problems import _bad_reasons
from core.ingest.results import FileRefused, UsageError

if TYPE_CHECKING:  # annotations only: rows imports this module
    from core.ingest.rows import _Reader

_MAX_OFFSET_MINUTES = 14 * 60  # UTC+14:00 (Kiribati) to UTC-12:00: nothing lies beyond ±14:00
_OFFSET_AT_END = r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)$"

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


def _zone(tz: str) -> str:
    """The IANA zone name, checked."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone '{tz}'; use an IANA name such as America/Sao_Paulo"
        ) from None
    return tz


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
