"""Periods, months and quarters, the local days of a period and its business-time shares, and
the agreement version in force at an instant: the one home of each (compliance, the dashboard,
the planner, reviews, the read side, the command line and the pages all use these).

Pure: no database, no streamlit. A period is [start, end) as UTC instants, read from text in
a calendar zone: "2018-03" (a month), "2018-Q1" (a quarter) or "2018-01-01:2018-04-01" (dates,
end exclusive). Quarters are written "2018-Q1" and months "2018-03" everywhere.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core import limits
from core.agreement import Document
from core.calendar import NAT_NS, BusinessCalendar

MONTH = re.compile(r"(\d{4})-(\d{2})")
QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
RANGE = re.compile(r"(\d{4}-\d{2}-\d{2}):(\d{4}-\d{2}-\d{2})")
PERIOD_FORMS = ("a month (2018-03), a quarter (2018-Q1) or a date range "
                "(2018-01-01:2018-04-01, end exclusive)")


@dataclass(frozen=True)
class Period:
    """A reporting period [start, end) as UTC instants."""

    start: pd.Timestamp
    end: pd.Timestamp


# --- periods ---------------------------------------------------------------------------------


def local_midnight(day: date, timezone: str) -> pd.Timestamp:
    """The UTC instant of a local date's midnight (a DST gap moves forward)."""
    stamp = pd.Timestamp(day).tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str, timezone: str) -> Period:
    """Read a month, a quarter or a date range in the calendar zone; ValueError with the
    accepted forms otherwise."""
    first, last = period_dates(text)
    return Period(local_midnight(first, timezone), local_midnight(last, timezone))


def period_dates(text: str) -> tuple[date, date]:
    """The first local date of a period and the first after it; ValueError otherwise."""
    text = (text or "").strip()
    try:
        if match := MONTH.fullmatch(text):
            first = date(int(match[1]), int(match[2]), 1)
            last = add_months(first, 1)
        elif match := QUARTER.fullmatch(text):
            first = date(int(match[1]), 3 * int(match[2]) - 2, 1)
            last = add_months(first, 3)
        elif match := RANGE.fullmatch(text):
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if last <= first:
                raise ValueError(f"period {text!r}: the end {last} must be after the start {first}")
        else:
            raise ValueError(f"period {text!r} is not {PERIOD_FORMS}")
    except ValueError as error:
        if str(error).startswith("period"):
            raise
        raise ValueError(f"period {text!r}: {error}") from None
    if not (first.year >= limits.DATE_FIRST_YEAR and last.year <= limits.DATE_LAST_YEAR):
        raise ValueError(f"period {text!r}: a period lies within the years "
                         f"{limits.DATE_FIRST_YEAR} to {limits.DATE_LAST_YEAR}")
    return first, last


def previous_period(text: str) -> str:
    """The period before a month, quarter or date range, written the same way."""
    text = (text or "").strip()
    if match := MONTH.fullmatch(text):
        return month_of(add_months(date(int(match[1]), int(match[2]), 1), -1))
    if QUARTER.fullmatch(text):
        return quarter_at(quarter_index(text) - 1)
    if match := RANGE.fullmatch(text):
        first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        return f"{first - (last - first)}:{first}"
    raise ValueError(f"period {text!r} is not a month, a quarter or a date range")


# --- months and quarters ---------------------------------------------------------------------


def month_of(day: date | pd.Timestamp) -> str:
    """"2018-03": the month holding a date (or a local instant)."""
    return f"{day:%Y-%m}"


def months_period(first: str, last: str) -> str:
    """The period text of whole months "2017-06" to "2018-08": "2017-06-01:2018-09-01"."""
    start = date.fromisoformat(f"{first}-01")
    end = add_months(date.fromisoformat(f"{last}-01"), 1)
    return f"{start.isoformat()}:{end.isoformat()}"


def quarter_of(day: date | pd.Timestamp) -> str:
    """"2018-Q1": the quarter holding a date (or a local instant)."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_of_month(month: str) -> str:
    """The quarter holding a month ("2018-08" → "2018-Q3"; a longer date text works too);
    ValueError otherwise."""
    match = MONTH.match((month or "").strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{month!r} is not a month such as 2018-08")
    return f"{match[1]}-Q{(int(match[2]) - 1) // 3 + 1}"


def parse_quarter(text: str) -> tuple[int, int]:
    """(year, quarter) of "2018-Q3" ("2018-q3" too); ValueError otherwise."""
    match = QUARTER.fullmatch((text or "").strip())
    if not match:
        raise ValueError(f"{text!r} is not a quarter such as 2018-Q3")
    return int(match[1]), int(match[2])


def quarter_index(text: str) -> int:
    """A quarter's running index: year × 4 + quarter − 1."""
    year, number = parse_quarter(text)
    return year * 4 + number - 1


def quarter_at(index: int) -> str:
    """The quarter with a running index."""
    return f"{index // 4}-Q{index % 4 + 1}"


def normal_quarter(text: str) -> str:
    """A quarter written the one way ("2018-q3 " → "2018-Q3"); ValueError otherwise."""
    return quarter_at(quarter_index(text))


def next_quarter(text: str) -> str:
    """The quarter after "2018-Q4": "2019-Q1"."""
    return quarter_at(quarter_index(text) + 1)


def previous_quarters(text: str, count: int) -> list[str]:
    """The `count` quarters before a quarter, oldest first."""
    index = quarter_index(text)
    return [quarter_at(index - back) for back in range(count, 0, -1)]


def quarter_months(text: str, shift: int = 0) -> list[str]:
    """The quarter's three months as "YYYY-MM", each moved `shift` months (negative: earlier)."""
    year, number = parse_quarter(text)
    first = year * 12 + (number - 1) * 3 + shift
    return [f"{index // 12}-{index % 12 + 1:02d}" for index in range(first, first + 3)]


# --- local days of a period ------------------------------------------------------------------


def local_dates(timezone: str, ns: np.ndarray) -> np.ndarray:
    """Local calendar dates (datetime64[D]) of epoch-ns instants in a zone."""
    # A view of the integers as instants (pd.to_datetime would check each value: 70x slower)
    stamps = pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")
                              ).tz_localize("UTC").tz_convert(timezone)
    return stamps.tz_localize(None).normalize().to_numpy().astype("datetime64[D]")


def week_starts(days: np.ndarray) -> np.ndarray:
    """The Monday (datetime64[D]) of each day's week."""
    weekday = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday
    return days - weekday.astype("timedelta64[D]")


def period_days(calendar: BusinessCalendar, period: Period) -> list[date]:
    """The local dates of the period."""
    first, last = _first_and_last_day(calendar, period)
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _first_and_last_day(calendar: BusinessCalendar, period: Period) -> tuple[date, date]:
    first = calendar.local_date(period.start.to_pydatetime())
    last = calendar.local_date((period.end - pd.Timedelta(1, "us")).to_pydatetime())
    return first, last


def end_of_day_ns(timezone: str, day: date) -> int:
    """Epoch ns of the local midnight that ends `day`."""
    return int(local_midnight(day + timedelta(days=1), timezone).value)


# --- business time ---------------------------------------------------------------------------


def elapsed_fraction(calendar: BusinessCalendar, period: Period, as_of: pd.Timestamp) -> float:
    """Share of the period's business time elapsed by as_of (1 once the period is over)."""
    if as_of >= period.end:
        return 1.0
    if as_of <= period.start:
        return 0.0
    return float(fraction_by_instant(calendar, period, np.array([as_of.value]))[0])


def fraction_by_day(calendar: BusinessCalendar, period: Period, days: list[date]) -> np.ndarray:
    """Share of the period's business time elapsed by the end of each local day."""
    ends = np.array([end_of_day_ns(calendar.timezone, day) for day in days], dtype=np.int64)
    return fraction_by_instant(calendar, period, ends)


def fraction_by_instant(calendar: BusinessCalendar, period: Period,
                        instants_ns: np.ndarray) -> np.ndarray:
    """Share of the period's business time elapsed by each instant (clipped to the period);
    a period without business time is shared by wall-clock time."""
    start, end = period.start.value, period.end.value
    instants = np.clip(instants_ns, start, end)
    segments = calendar.segments(period.start, period.end)
    if segments.total_ns == 0:
        return (instants - start) / (end - start)
    covered = np.clip(instants[:, None] - segments.starts[None, :], 0,
                      (segments.ends - segments.starts)[None, :]).sum(axis=1)
    return covered / segments.total_ns


def unit_start(day: date, per: str) -> date:
    """The first local date of the week (Monday), month or quarter holding `day`."""
    if per == "week":
        return day - timedelta(days=day.weekday())
    if per == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def unit_end(first: date, per: str) -> date:
    """The first local date after the unit starting on `first`."""
    if per == "week":
        return first + timedelta(days=7)
    return add_months(first, 1 if per == "month" else 3)


def working_days_so_far(calendar: BusinessCalendar, period: Period, as_of: pd.Timestamp) -> int:
    """The period's working days up to as_of, as_of's own day included (0 before it starts)."""
    days = WorkingDays(calendar, period)
    today = calendar.local_date(as_of.to_pydatetime())
    return days.count(days.first, min(today, days.last) + timedelta(days=1)) \
        if today >= days.first else 0


class WorkingDays:
    """The local dates of a period and whether each is a working day (looked up once each)."""

    def __init__(self, calendar: BusinessCalendar, period: Period) -> None:
        self.calendar = calendar
        self.first, self.last = _first_and_last_day(calendar, period)
        self._working: dict[date, bool] = {}

    def count(self, first: date, end: date) -> int:
        """Working days in [first, end)."""
        total = 0
        day = first
        while day < end:
            if day not in self._working:
                self._working[day] = self.calendar.is_working_day(day)
            total += self._working[day]
            day += timedelta(days=1)
        return total

    def units(self, per: str) -> float:
        """Whole `per` units (week, month, quarter) in the period plus business-day-weighted
        shares of partial ones: a 5-month period of a monthly target counts 5."""
        end = self.last + timedelta(days=1)
        total = 0.0
        unit = unit_start(self.first, per)
        while unit < end:
            after = unit_end(unit, per)
            inside_first, inside_end = max(unit, self.first), min(after, end)
            if inside_first == unit and inside_end == after:
                total += 1
            else:
                whole = self.count(unit, after)
                part = self.count(inside_first, inside_end)
                if whole:
                    total += part / whole
                else:  # a unit without working days: weigh by calendar days
                    total += (inside_end - inside_first).days / (after - unit).days
            unit = after
        return total


# --- the version in force --------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    """A signed agreement version: its number and document (with its effective dates)."""

    number: int
    document: Document


def effective_range(document: Document) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants a version's effective [start, end) covers, read in its own zone."""
    zone = document.calendar.timezone
    return (local_midnight(document.effective.start, zone),
            local_midnight(document.effective.end, zone))


def in_force(instants_ns: np.ndarray, versions: list[InForce]) -> np.ndarray:
    """Per instant (epoch ns), the index into `versions` (listed in signing order) of the
    version in force then: the latest signed whose effective range, read in its own calendar
    zone, contains it; -1 when none does (or the instant is missing)."""
    chosen = np.full(instants_ns.shape, -1, dtype=np.int64)
    present = instants_ns != NAT_NS
    for index, version in enumerate(versions):
        low, high = (stamp.value for stamp in effective_range(version.document))
        chosen[present & (instants_ns >= low) & (instants_ns < high)] = index
    return chosen


def in_force_at(instant: pd.Timestamp, versions: list[InForce]) -> InForce | None:
    """The version in force at one instant, or None when no version covers it."""
    index = int(in_force(np.array([pd.Timestamp(instant).as_unit("ns").value]), versions)[0])
    return versions[index] if index >= 0 else None


def covering(period: Period, versions: list[InForce]) -> list[InForce]:
    """The versions whose effective range overlaps the period."""
    return [version for version in versions
            if _overlaps(effective_range(version.document), period)]


def _overlaps(span: tuple[pd.Timestamp, pd.Timestamp], period: Period) -> bool:
    return span[0] < period.end and period.start < span[1]
