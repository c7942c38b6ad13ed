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
