"""Business calendars: local working windows and holidays, as UTC working segments.

A calendar turns local wall-clock windows ("09:00"–"18:00" on weekdays, in an IANA zone, minus
holidays and closed dates) into a table of UTC segments with cumulative business time; the
business-time clock answers elapsed and due from that table with `searchsorted` (DESIGN §4).

Units: `Segments.starts` and `.ends` are int64 epoch nanoseconds (UTC); `.cumulative` is int64
business nanoseconds elapsed before each segment's start, so all three mix without conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import pandas as pd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NS_PER_SECOND = 1_000_000_000
MINUTES_PER_DAY = 24 * 60

CLOSED_DATE = "closed date"
NO_WORKING_HOURS = "no working hours"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)

# A local window as minutes after the day's midnight; the end may be 1440 ("24:00").
MinuteWindow = tuple[int, int]
# A UTC window as epoch seconds [start, end).
EpochWindow = tuple[int, int]


@dataclass(frozen=True, eq=False)
class Segments:
    """Working time as sorted, disjoint, merged UTC segments (all arrays int64 nanoseconds)."""

    starts: np.ndarray
    ends: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def from_bounds(
        cls, starts: Sequence[int] | np.ndarray, ends: Sequence[int] | np.ndarray
    ) -> Segments:
        """Segments from epoch-nanosecond bounds that are already sorted, disjoint and merged."""
        starts = np.array(starts, dtype=np.int64)
        ends = np.array(ends, dtype=np.int64)
        durations = ends - starts
        cumulative = np.cumsum(durations) - durations
        for array in (starts, ends, cumulative):
            array.setflags(write=False)
        return cls(starts, ends, cumulative)

    def __len__(self) -> int:
        """The number of segments."""
        return len(self.starts)

    @property
    def durations(self) -> np.ndarray:
        """Each segment's length in nanoseconds."""
        return self.ends - self.starts

    @property
    def total_ns(self) -> int:
        """Business nanoseconds in all segments."""
        return int(self.durations.sum())

    @property
    def total_seconds(self) -> int:
        """Business seconds in all segments, floored to whole seconds."""
        return self.total_ns // NS_PER_SECOND

    def to_frame(self) -> pd.DataFrame:
        """One row per segment: UTC start and end, seconds, cumulative seconds before it."""
        return pd.DataFrame({
            "start": pd.to_datetime(self.starts, unit="ns", utc=True),
            "end": pd.to_datetime(self.ends, unit="ns", utc=True),
            "seconds": self.durations // NS_PER_SECOND,
            "cumulative_seconds": self.cumulative // NS_PER_SECOND,
        })


@dataclass(frozen=True)
class PreviewDay:
    """One local calendar day of a preview: its working windows, or why it is closed."""

    local_date: date
    weekday: str
    windows: list[tuple[datetime, datetime]]
    closed_reason: str | None
    business_seconds: int

    @property
    def utc_windows(self) -> list[tuple[datetime, datetime]]:
        """The day's windows as UTC datetimes."""
        return [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in self.windows]

    def label(self) -> str:
        """A readable line, e.g. "Mon 02 Mar: 09:00–12:00, 13:00–18:00 (8 h)"."""
        day = (
            f"{_DAY_ABBREVIATIONS[self.local_date.weekday()]} {self.local_date.day:02d} "
            f"{_MONTH_ABBREVIATIONS[self.local_date.month - 1]}"
        )
        if self.closed_reason is not None:
            return f"{day}: closed — {self.closed_reason}"
        windows = ", ".join(self._window_text(start, end) for start, end in self.windows)
        return f"{day}: {windows} ({format_business_duration(self.business_seconds)})"

    def _window_text(self, start: datetime, end: datetime) -> str:
        """"HH:MM–HH:MM", with an end on the next day shown as "24:00"."""
        end_text = "24:00" if end.date() > self.local_date else f"{end:%H:%M}"
        return f"{start:%H:%M}–{end_text}"


class BusinessCalendar:
    """Local working windows per weekday in an IANA zone, minus holidays and closed dates."""

    def __init__(
        self,
        timezone: str,
        hours: Mapping[str, Sequence[tuple[str, str]]],
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self.zone = _zone(timezone)
        self._hours = _parse_hours(hours)
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        _check_holiday_source(holiday_country, holiday_subdivision)
        self.closed_dates = _parse_closed_dates(closed_dates)

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.timezone!r}, holidays={self.holiday_country!r}/"
            f"{self.holiday_subdivision!r}, closed_dates={len(self.closed_dates)})"
        )

    def hours_on(self, weekday: str) -> list[tuple[str, str]]:
        """The weekday's local windows as ("HH:MM", "HH:MM") pairs, sorted."""
        return [
            (_format_minutes(start), _format_minutes(end))
            for start, end in self._hours[WEEKDAYS.index(weekday)]
        ]

    def working_day_seconds(self) -> int:
        """The length of a usual working day (the median of the weekdays that have hours): a
        business day when durations are told in days."""
        lengths = sorted(sum(end - start for start, end in windows) * 60
                         for windows in self._hours if windows)
        return lengths[len(lengths) // 2] if lengths else 0

    def local_date(self, instant: datetime) -> date:
        """The calendar-zone date of an aware instant."""
        _require_aware(instant)
        return instant.astimezone(self.zone).date()

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on a local date, or None."""
        if self.holiday_country is None:
            return None
        names = _holidays_in_year(self.holiday_country, self.holiday_subdivision, day.year)
        return names.get(day)

    def closed_reason(self, day: date) -> str | None:
        """Why a local date has no working time (holiday name first), or None when it has hours."""
        holiday = self.holiday_name(day)
        if holiday is not None:
            return holiday
        if day in self.closed_dates:
            return CLOSED_DATE
        if not self._hours[day.weekday()]:
            return NO_WORKING_HOURS
        return None

    def is_working_day(self, day: date) -> bool:
        """Whether a local date has any working time."""
        return bool(self._epoch_windows(day))

    def day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """A local date's working windows as local aware datetimes, merged when adjacent."""
        return self._local_windows(self._epoch_windows(day))

    def _local_windows(self, windows: Sequence[EpochWindow]) -> list[tuple[datetime, datetime]]:
        """Epoch-second windows as local aware datetimes."""
        return [
            (datetime.fromtimestamp(start, self.zone), datetime.fromtimestamp(end, self.zone))
            for start, end in windows
        ]

    def segments(self, start: datetime, end: datetime) -> Segments:
        """The working time inside [start, end) as merged UTC segments."""
        start_ns, end_ns = _epoch_ns(start), _epoch_ns(end)
        if end_ns < start_ns:
            raise ValueError(f"segments: end {end} is before start {start}")
        # A day's windows lie within that local day, so one day of margin before is plenty.
        first_day = self.local_date(start) - timedelta(days=1)
        last_day = self.local_date(end)
        windows: list[EpochWindow] = []
        for day in _date_range(first_day, last_day):
            windows.extend(self._epoch_windows(day))
        return _clipped_segments(_merge_windows(windows), start_ns, end_ns)

    def preview(self, start: datetime, days: int = 14) -> list[PreviewDay]:
        """One entry per local date from start's local date on: windows or closed reason."""
        if days < 0:
            raise ValueError(f"preview: days must not be negative, got {days}")
        first_day = self.local_date(start)
        return [self._preview_day(first_day + timedelta(days=offset)) for offset in range(days)]

    def _preview_day(self, day: date) -> PreviewDay:
        """The preview entry of one local date."""
        # Seconds come from epoch values: subtracting aware datetimes of one zone ignores DST.
        epoch_windows = self._epoch_windows(day)
        seconds = sum(end - start for start, end in epoch_windows)
        reason = self.closed_reason(day) or (None if epoch_windows else NO_WORKING_HOURS)
        windows = self._local_windows(epoch_windows)
        return PreviewDay(day, WEEKDAYS[day.weekday()], windows, reason, seconds)

    def _epoch_windows(self, day: date) -> list[EpochWindow]:
        """A local date's working windows as merged, non-empty UTC epoch-second pairs."""
        if self.closed_reason(day) is not None:
            return []
        converted = [
            (_local_to_epoch(self.zone, day, start), _local_to_epoch(self.zone, day, end))
            for start, end in self._hours[day.weekday()]
        ]
        return _merge_windows(converted)


def format_business_duration(seconds: int) -> str:
    """Business time for people: "8 h", "7 h 30 min", "45 min"."""
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def _zone(timezone: str) -> ZoneInfo:
    """The IANA zone, or ValueError."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(f"unknown time zone {timezone!r}") from error


def _parse_hours(
    hours: Mapping[str, Sequence[tuple[str, str]]],
) -> tuple[tuple[MinuteWindow, ...], ...]:
    """Per weekday (Monday first), the sorted windows in minutes after midnight."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"hours: unknown weekday(s) {unknown}; use {list(WEEKDAYS)}")
    return tuple(_parse_day(weekday, hours.get(weekday) or ()) for weekday in WEEKDAYS)


def _parse_day(weekday: str, windows: Sequence[tuple[str, str]]) -> tuple[MinuteWindow, ...]:
    """One weekday's windows in minutes after midnight, sorted."""
    parsed = []
    for index, window in enumerate(windows):
        if isinstance(window, str) or len(window) != 2:
            raise ValueError(f"hours.{weekday}[{index}]: a window is a [start, end] pair")
        start = _parse_clock(window[0], f"hours.{weekday}[{index}]", is_end=False)
        end = _parse_clock(window[1], f"hours.{weekday}[{index}]", is_end=True)
        if end <= start:
            raise ValueError(f"hours.{weekday}[{index}]: {window[1]} is not after {window[0]}")
        parsed.append((start, end))
    return tuple(sorted(parsed))


def _parse_clock(text: str, where: str, *, is_end: bool) -> int:
    """Minutes after midnight of an "HH:MM" string; "24:00" only as a window's end."""
    if is_end and text == "24:00":
        return MINUTES_PER_DAY
    match = _HH_MM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{where}: {text!r} is not a quoted 'HH:MM' time")
    return int(match[1]) * 60 + int(match[2])


def _format_minutes(minutes: int) -> str:
    """"HH:MM" of minutes after midnight (1440 is "24:00")."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _check_holiday_source(country: str | None, subdivision: str | None) -> None:
    """Refuse a subdivision without a country, or a country the holidays package lacks."""
    if country is None:
        if subdivision is not None:
            raise ValueError("holidays: a subdivision needs a country")
        return
    _holidays_in_year(country, subdivision, date.today().year)


@lru_cache(maxsize=512)
def _holidays_in_year(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The holidays package's holidays of one year, as a read-only date → name mapping."""
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as error:
        raise ValueError(f"holidays: {error}") from error
    return MappingProxyType(dict(found))


def _parse_closed_dates(closed_dates: Iterable[date]) -> frozenset[date]:
    """The closed dates as a set of plain dates."""
    parsed = frozenset(closed_dates)
    for day in parsed:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"closed dates must be dates, got {day!r}")
    return parsed


def _require_aware(instant: datetime) -> None:
    """Refuse naive datetimes: an instant without a zone is ambiguous."""
    if not isinstance(instant, datetime):
        raise ValueError(f"expected an aware datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant} has no time zone")


def _epoch_ns(instant: datetime) -> int:
    """Epoch nanoseconds of an aware datetime (pandas Timestamps keep their nanoseconds)."""
    _require_aware(instant)
    if isinstance(instant, pd.Timestamp):
        return int(instant.value)
    return (instant - _EPOCH) // timedelta(microseconds=1) * 1000


def _date_range(first: date, last: date) -> Iterable[date]:
    """Every date from first to last inclusive."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _local_to_epoch(zone: ZoneInfo, day: date, minutes: int) -> int:
    """Epoch seconds of a local wall time: a gap moves forward, an ambiguous time takes fold=0."""
    extra_days, minute_of_day = divmod(minutes, MINUTES_PER_DAY)
    day += timedelta(days=extra_days)
    hour, minute = divmod(minute_of_day, 60)
    first = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    seconds = int(first.timestamp())
    later = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=1)
    if first.utcoffset() == later.utcoffset():
        return seconds
    wall = first.replace(tzinfo=None)
    if _wall_time(zone, seconds) == wall:
        return seconds
    return _end_of_gap(zone, wall)


def _end_of_gap(zone: ZoneInfo, wall: datetime) -> int:
    """Epoch seconds of the first valid instant after the gap that swallows a wall time."""
    # fold=1 reads the wall with the offset after the gap (an instant before the transition),
    # fold=0 with the offset before it (at or after the transition): bisect between them.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _wall_time(zone, middle) > wall:
            after = middle
        else:
            before = middle
    return after


def _wall_time(zone: ZoneInfo, seconds: int) -> datetime:
    """The naive local wall time of an epoch second."""
    return datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)


def _merge_windows(windows: Sequence[EpochWindow]) -> list[EpochWindow]:
    """Sorted windows with empty ones dropped and overlapping or touching ones merged."""
    merged: list[EpochWindow] = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clipped_segments(windows: Sequence[EpochWindow], start_ns: int, end_ns: int) -> Segments:
    """Merged epoch-second windows as Segments clipped to [start_ns, end_ns)."""
    bounds = np.array(windows, dtype=np.int64).reshape(-1, 2) * NS_PER_SECOND
    starts = np.maximum(bounds[:, 0], start_ns)
    ends = np.minimum(bounds[:, 1], end_ns)
    keep = ends > starts
    return Segments.from_bounds(starts[keep], ends[keep])


# --- The business-time clock (DESIGN §4) ---------------------------------------------------------

NS_PER_DAY = 86_400 * NS_PER_SECOND
# Missing instants: NaT in and out. NaT's int64 value, so `pd.to_datetime(dues, utc=True)` shows
# NaT for it; `elapsed` answers MISSING_SECONDS where a start or a stop is missing.
NAT_NS = int(np.iinfo(np.int64).min)
MISSING_SECONDS = -1
# How far past the requested range a Clock builds its table, so dues of long budgets resolve.
DUE_MARGIN = timedelta(days=60)

Instants = pd.Series | pd.Index | np.ndarray | Sequence[datetime] | datetime


class Clock:
    """Business time of one calendar over a range, answered for arrays of instants at once.

    The clock builds the calendar's UTC working segments once for [start, end + DUE_MARGIN] and
    answers with `searchsorted`, never a per-row Python loop (DESIGN §4). Instants may be
    tz-aware pandas Series or DatetimeIndex values, arrays of aware datetimes, or int64 epoch
    nanoseconds (NAT_NS for missing); naive datetimes are refused. An instant outside the covered
    range raises ValueError rather than answer wrongly. Seconds are whole business seconds,
    floored from nanoseconds.
    """

    def __init__(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> None:
        self.calendar = calendar
        self.start_ns = _epoch_ns(start)
        self.end_ns = _epoch_ns(end + DUE_MARGIN)
        if _epoch_ns(end) < self.start_ns:
            raise ValueError(f"Clock: end {end} is before start {start}")
        self.segments = calendar.segments(start, end + DUE_MARGIN)
        self._cumulative_ends = self.segments.cumulative + self.segments.durations
        self._days = _WorkingDays(calendar, start, end + DUE_MARGIN)

    def __repr__(self) -> str:
        return f"Clock({self.calendar!r}, {len(self.segments)} segments)"

    def position(self, instants: Instants) -> np.ndarray:
        """Business nanoseconds from the range's start to each instant (NAT_NS where missing)."""
        values = self._checked(instants)
        missing = values == NAT_NS
        return np.where(missing, NAT_NS, self._position(np.where(missing, self.start_ns, values)))

    def elapsed(self, starts: Instants, stops: Instants) -> np.ndarray:
        """Business seconds between each start and stop: 0 when the stop is not after the start,
        MISSING_SECONDS (-1) where the start or the stop is missing (NaT)."""
        start_values, stop_values = self._checked(starts), self._checked(stops)
        start_values, stop_values = np.broadcast_arrays(start_values, stop_values)
        missing = (start_values == NAT_NS) | (stop_values == NAT_NS)
        start_pos = self._position(np.where(missing, self.start_ns, start_values))
        stop_pos = self._position(np.where(missing, self.start_ns, stop_values))
        seconds = np.maximum(stop_pos - start_pos, 0) // NS_PER_SECOND
        return np.where(missing, MISSING_SECONDS, seconds).astype(np.int64)

    def due(self, starts: Instants, within_seconds: int) -> np.ndarray:
        """Epoch ns at which `within_seconds` of business time has elapsed after each start.

        A start outside hours counts from the next opening; a budget that runs out exactly at a
        window's end is due at that closing instant. A zero budget is due at the start itself.
        NAT_NS where the start is missing or the due lies past the clock's table.
        """
        if within_seconds < 0:
            raise ValueError(f"due: within_seconds must not be negative, got {within_seconds}")
        values = self._checked(starts)
        missing = values == NAT_NS
        if within_seconds == 0:
            return values.copy()
        if len(self.segments) == 0:
            return np.full(values.shape, NAT_NS, dtype=np.int64)
        target = self._position(np.where(missing, self.start_ns, values))
        target += within_seconds * NS_PER_SECOND
        # The first segment whose cumulative end reaches the target; side="left" keeps a due that
        # lands exactly on a closing in the segment that closes, not at the next opening.
        index = np.searchsorted(self._cumulative_ends, target, side="left")
        beyond = index >= len(self.segments)
        safe = np.minimum(index, len(self.segments) - 1)
        dues = self.segments.starts[safe] + (target - self.segments.cumulative[safe])
        return np.where(missing | beyond, NAT_NS, dues).astype(np.int64)

    def due_days(self, starts: Instants, days: int) -> np.ndarray:
        """Epoch ns due of an `Nd` budget (biz's rule, DESIGN §4).

        The start moves to the next opening (a start inside a window stays; one exactly at a
        closing moves on). The due is that opening's local wall-clock time on the N-th following
        working day (a local date with working windows: not a holiday, closed date or day without
        hours). That wall time is kept even when it lies outside the due day's windows: it is a
        deadline, not a working instant. A wall time in a DST gap moves forward to the first valid
        instant; an ambiguous one takes its first occurrence. `days=0` is due at the moved start.
        NAT_NS where the start is missing or the answer lies past the clock's tables.
        """
        if days < 0:
            raise ValueError(f"due_days: days must not be negative, got {days}")
        values = self._checked(starts)
        missing = values == NAT_NS
        opened = self.next_opening(np.where(missing, self.start_ns, values))
        missing |= opened == NAT_NS
        opened = np.where(missing, self.start_ns, opened)
        if days == 0:
            return np.where(missing, NAT_NS, opened).astype(np.int64)
        wall = _wall_ns(opened, self.calendar.timezone)
        local_day = np.floor_divide(wall, NS_PER_DAY)
        time_of_day = wall - local_day * NS_PER_DAY
        due_day = self._days.nth_following(local_day, days)
        missing |= due_day == _NO_DAY
        due_wall = np.where(missing, local_day, due_day) * NS_PER_DAY + time_of_day
        dues = _localize_wall_ns(due_wall, self.calendar.timezone)
        return np.where(missing, NAT_NS, dues).astype(np.int64)

    def next_opening(self, instants: Instants) -> np.ndarray:
        """Each instant itself when inside a window, else the next opening (NAT_NS past the table
        or where missing). A closing instant is outside its window: windows are half-open."""
        values = self._checked(instants)
        missing = values == NAT_NS
        if len(self.segments) == 0:
            return np.full(values.shape, NAT_NS, dtype=np.int64)
        index = np.searchsorted(self.segments.ends, values, side="right")
        beyond = index >= len(self.segments)
        safe = np.minimum(index, len(self.segments) - 1)
        opened = np.maximum(values, self.segments.starts[safe])
        return np.where(missing | beyond, NAT_NS, opened).astype(np.int64)

    def _position(self, values: np.ndarray) -> np.ndarray:
        """Business ns before each (non-missing, in-range) instant."""
        segments = self.segments
        if len(segments) == 0:
            return np.zeros(values.shape, dtype=np.int64)
        index = np.searchsorted(segments.starts, values, side="right") - 1
        safe = np.maximum(index, 0)
        inside = np.minimum(values, segments.ends[safe]) - segments.starts[safe]
        return np.where(index >= 0, segments.cumulative[safe] + inside, 0).astype(np.int64)

    def _checked(self, instants: Instants) -> np.ndarray:
        """Instants as int64 epoch ns, refusing any outside the clock's range."""
        values = instants_ns(instants)
        present = values[values != NAT_NS]
        if present.size and (present.min() < self.start_ns or present.max() > self.end_ns):
            first = pd.Timestamp(int(present.min()), tz=UTC)
            last = pd.Timestamp(int(present.max()), tz=UTC)
            covered = (pd.Timestamp(self.start_ns, tz=UTC), pd.Timestamp(self.end_ns, tz=UTC))
            raise ValueError(
                f"Clock: instants {first}..{last} fall outside its range {covered[0]}..{covered[1]}"
            )
        return values


def business_seconds(calendar: BusinessCalendar, start: datetime, stop: datetime) -> int:
    """Business seconds of a calendar from start to stop (0 when stop is not after start)."""
    if _epoch_ns(stop) <= _epoch_ns(start):
        return 0
    return calendar.segments(start, stop).total_seconds


def instants_ns(instants: Instants) -> np.ndarray:
    """Aware instants as an int64 array of epoch nanoseconds, NAT_NS for missing ones.

    Integer arrays are taken as epoch nanoseconds already. Naive datetimes are refused.
    """
    if isinstance(instants, np.ndarray) and instants.dtype.kind in "iu":
        return np.ascontiguousarray(instants, dtype=np.int64)
    if isinstance(instants, datetime):
        instants = [instants]
    values = instants if isinstance(instants, pd.Series | pd.Index) else pd.Index(instants)
    dtype = values.dtype
    if dtype.kind in "iu":
        return np.asarray(values, dtype=np.int64)
    if isinstance(dtype, pd.DatetimeTZDtype):
        index = pd.DatetimeIndex(values)
    elif dtype.kind == "M":
        raise ValueError("naive datetimes have no time zone; localize them first")
    else:
        if any(isinstance(value, datetime) and value.tzinfo is None for value in values):
            raise ValueError("naive datetimes have no time zone; localize them first")
        index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return index.tz_convert(UTC).as_unit("ns").asi8.astype(np.int64, copy=True)


_NO_DAY = np.iinfo(np.int64).min


class _WorkingDays:
    """Local dates (as days since the epoch) of a range with running counts of working days."""

    def __init__(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> None:
        first = calendar.local_date(start) - timedelta(days=1)
        last = calendar.local_date(end) + timedelta(days=1)
        self.first_day = (first - _EPOCH.date()).days
        working = np.array([calendar.is_working_day(day) for day in _date_range(first, last)])
        # counts[k]: working days among the first k + 1 dates.
        self.counts = np.cumsum(working).astype(np.int64)

    def nth_following(self, local_days: np.ndarray, n: int) -> np.ndarray:
        """Days since the epoch of the n-th working day after each day (_NO_DAY when unknown)."""
        offset = local_days - self.first_day
        outside = (offset < 0) | (offset >= len(self.counts))
        wanted = self.counts[np.clip(offset, 0, len(self.counts) - 1)] + n
        # The first date whose running count reaches the wanted count is a working day.
        found = np.searchsorted(self.counts, wanted, side="left")
        unknown = outside | (found >= len(self.counts))
        return np.where(unknown, _NO_DAY, found + self.first_day)


def _wall_ns(epoch_ns: np.ndarray, timezone: str) -> np.ndarray:
    """Local wall-clock time of each instant, as naive epoch-style nanoseconds."""
    index = pd.DatetimeIndex(epoch_ns.astype("datetime64[ns]")).tz_localize(UTC)
    return index.tz_convert(timezone).tz_localize(None).as_unit("ns").asi8.astype(np.int64)


def _localize_wall_ns(wall_ns: np.ndarray, timezone: str) -> np.ndarray:
    """Epoch ns of local wall times: a gap moves forward, an ambiguous time takes fold=0."""
    index = pd.DatetimeIndex(wall_ns.astype("datetime64[ns]"))
    first_occurrence = np.ones(len(index), dtype=bool)
    localized = index.tz_localize(timezone, ambiguous=first_occurrence,
                                  nonexistent="shift_forward")
    return localized.as_unit("ns").asi8.astype(np.int64)
