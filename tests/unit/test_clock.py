"""The vectorized business-time clock: elapsed, due and `Nd` dues (DESIGN §4)."""

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import (
    MISSING_SECONDS,
    NAT_NS,
    NS_PER_SECOND,
    WEEKDAYS,
    BusinessCalendar,
    Clock,
    business_seconds,
    instants_ns,
)
from tests.clock_reference import Reference
from tests.unit.clock_cases import ERPNEXT_CASES, WEEKDAYS_ONLY, every

HOUR = 3600


def utc(*parts: int) -> datetime:
    """A UTC datetime from year, month, day[, hour, minute]."""
    return datetime(*parts, tzinfo=UTC)


def at(zone: str, *parts: int, fold: int = 0) -> datetime:
    """A local aware datetime in an IANA zone."""
    return datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold)


def ns(*instants: datetime) -> np.ndarray:
    """Aware datetimes as an int64 epoch-nanosecond array."""
    return instants_ns(list(instants))


def one_ns(instant: datetime) -> int:
    """Epoch nanoseconds of one aware datetime."""
    return int(ns(instant)[0])


def as_utc(value: int) -> datetime:
    """An epoch-nanosecond value as a UTC datetime (whole seconds)."""
    assert value % NS_PER_SECOND == 0
    return datetime.fromtimestamp(value // NS_PER_SECOND, UTC)


def single_due(clock: Clock, start: datetime, seconds: int) -> datetime:
    """The due of one start as a UTC datetime."""
    return as_utc(int(clock.due(ns(start), seconds)[0]))


def single_due_days(clock: Clock, start: datetime, days: int) -> datetime:
    """The `Nd` due of one start as a UTC datetime."""
    return as_utc(int(clock.due_days(ns(start), days)[0]))


def single_elapsed(clock: Clock, start: datetime, stop: datetime) -> int:
    """Business seconds between one start and stop."""
    return int(clock.elapsed(ns(start), ns(stop))[0])


# --- A. erpnext: Mon–Fri 10:00–18:00 UTC, 2021-06-25 is a Friday ---------------------------------

ERPNEXT = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("10:00", "18:00")))



def erpnext_instant(text: str) -> datetime:
    """"MM-DD HH:MM" in 2021, UTC."""
    return datetime.strptime(f"2021-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@cache
def erpnext_clock() -> Clock:
    return Clock(ERPNEXT, utc(2021, 6, 20), utc(2021, 7, 10))


def test_all_29_erpnext_cases_at_once() -> None:
    assert len(ERPNEXT_CASES) == 29
    starts = pd.Series([erpnext_instant(start) for start, _, _ in ERPNEXT_CASES])
    stops = pd.Series([erpnext_instant(stop) for _, stop, _ in ERPNEXT_CASES])
    elapsed = erpnext_clock().elapsed(starts, stops)
    assert elapsed.dtype == np.int64
    assert elapsed.tolist() == [expected for _, _, expected in ERPNEXT_CASES]


@pytest.mark.parametrize(("start", "stop", "expected"), ERPNEXT_CASES)
def test_erpnext_case(start: str, stop: str, expected: int) -> None:
    begin, end = erpnext_instant(start), erpnext_instant(stop)
    assert single_elapsed(erpnext_clock(), begin, end) == expected
    assert business_seconds(ERPNEXT, begin, end) == expected


# --- B. helpdesk: Mon–Fri 10:00–18:00 UTC, Mon = 2026-07-20 -------------------------------------

HELPDESK_DAYS = {"mon": 20, "tue": 21, "wed": 22, "thu": 23, "fri": 24, "sat": 25, "sun": 26}
HELPDESK_NEXT_WEEK = {"mon": 27, "tue": 28, "wed": 29}

# (start, budget seconds, due); dues after the weekend carry a "+" (next week).
HELPDESK_CASES = [
    ("mon 08:00", 1 * HOUR, "mon 11:00"),
    ("mon 08:00", 4 * HOUR, "mon 14:00"),
    ("mon 20:00", 30 * 60, "tue 10:30"),
    ("mon 20:00", 2 * HOUR, "tue 12:00"),
    ("sat 15:00", 24 * HOUR, "+wed 18:00"),
    ("fri 17:00", 30 * 60, "fri 17:30"),
    ("fri 17:00", 2 * HOUR, "+mon 11:00"),
    ("fri 19:00", 1 * HOUR, "+mon 11:00"),
    ("mon 17:55", 30 * 60, "tue 10:25"),
    ("mon 10:00", 30 * 60, "mon 10:30"),
]

HELPDESK = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("10:00", "18:00")))
HELPDESK_HOLIDAYS = BusinessCalendar(
    "UTC", every(WEEKDAYS_ONLY, ("10:00", "18:00")),
    closed_dates=[date(2026, 7, 23), date(2026, 7, 24)],
)


def helpdesk_instant(text: str) -> datetime:
    """"[+]ddd HH:MM" in the week of Mon 2026-07-20 (or the next week with "+"), UTC."""
    days = HELPDESK_NEXT_WEEK if text.startswith("+") else HELPDESK_DAYS
    weekday, clock = text.lstrip("+").split()
    hour, minute = (int(part) for part in clock.split(":"))
    return utc(2026, 7, days[weekday], hour, minute)


@cache
def helpdesk_clock(calendar: BusinessCalendar = HELPDESK) -> Clock:
    return Clock(calendar, utc(2026, 7, 13), utc(2026, 8, 3))


@pytest.mark.parametrize(("start", "budget", "due"), HELPDESK_CASES)
def test_helpdesk_due(start: str, budget: int, due: str) -> None:
    clock = helpdesk_clock()
    begin = helpdesk_instant(start)
    assert single_due(clock, begin, budget) == helpdesk_instant(due)
    assert single_elapsed(clock, begin, helpdesk_instant(due)) == budget


def test_helpdesk_dues_at_once() -> None:
    starts = pd.Series([helpdesk_instant(start) for start, _, _ in HELPDESK_CASES])
    for budget in {budget for _, budget, _ in HELPDESK_CASES}:
        dues = helpdesk_clock().due(starts, budget)
        for (start, case_budget, due), value in zip(HELPDESK_CASES, dues.tolist(), strict=True):
            if case_budget == budget:
                assert as_utc(value) == helpdesk_instant(due), start


def test_helpdesk_case_5_due_exactly_at_closing_is_the_closing_instant() -> None:
    due = single_due(helpdesk_clock(), helpdesk_instant("sat 15:00"), 24 * HOUR)
    assert due == utc(2026, 7, 29, 18) and due != utc(2026, 7, 30, 10)


def test_helpdesk_case_9_thursday_and_friday_holidays() -> None:
    clock = helpdesk_clock(HELPDESK_HOLIDAYS)
    start = helpdesk_instant("thu 15:00")
    assert single_due(clock, start, 30 * 60) == utc(2026, 7, 27, 10, 30)
    assert single_elapsed(clock, start, utc(2026, 7, 27, 10)) == 0


def test_helpdesk_case_10_touch_after_hours_before_the_deadline_is_on_time() -> None:
    clock = helpdesk_clock()
    start, touch = helpdesk_instant("mon 17:55"), utc(2026, 7, 20, 18, 5)
    assert single_due(clock, start, 30 * 60) == utc(2026, 7, 21, 10, 25)
    elapsed = single_elapsed(clock, start, touch)
    assert elapsed == 300 and elapsed <= 30 * 60


def test_helpdesk_case_11_touch_breaches_by_540_business_seconds() -> None:
    clock = helpdesk_clock()
    start, touch = helpdesk_instant("mon 10:00"), utc(2026, 7, 20, 10, 39)
    assert single_due(clock, start, 30 * 60) == utc(2026, 7, 20, 10, 30)
    assert single_elapsed(clock, start, touch) - 30 * 60 == 540


# --- DST, odd offsets, overnight windows, holidays ----------------------------------------------

NY_OVERNIGHT = BusinessCalendar(
    "America/New_York", every(WEEKDAYS, ("00:00", "06:00"), ("22:00", "24:00"))
)


@cache
def ny_overnight_clock() -> Clock:
    return Clock(NY_OVERNIGHT, utc(2024, 1, 1), utc(2025, 1, 1))


def test_spring_forward_night_is_seven_real_hours() -> None:
    clock = ny_overnight_clock()
    evening = at("America/New_York", 2024, 3, 9, 22)
    morning = at("America/New_York", 2024, 3, 10, 6)
    assert single_elapsed(clock, evening, morning) == 7 * HOUR
    # The whole night is one segment: a 7 h budget is due at the 06:00 closing.
    assert single_due(clock, evening, 7 * HOUR) == morning
    assert single_due(clock, evening, 8 * HOUR) == at("America/New_York", 2024, 3, 10, 23)


def test_fall_back_night_is_nine_real_hours() -> None:
    clock = ny_overnight_clock()
    evening = at("America/New_York", 2024, 11, 2, 22)
    morning = at("America/New_York", 2024, 11, 3, 6)
    assert single_elapsed(clock, evening, morning) == 9 * HOUR
    assert single_due(clock, evening, 8 * HOUR) == at("America/New_York", 2024, 11, 3, 5)
    # 01:30 happens twice; both count, an hour apart.
    first = at("America/New_York", 2024, 11, 3, 1, 30)
    second = at("America/New_York", 2024, 11, 3, 1, 30, fold=1)
    assert single_elapsed(clock, first, second) == HOUR


def test_overnight_window_counts_across_midnight() -> None:
    clock = ny_overnight_clock()
    start = at("America/New_York", 2024, 6, 4, 23)
    assert single_due(clock, start, 2 * HOUR) == at("America/New_York", 2024, 6, 5, 1)
    assert single_elapsed(clock, at("America/New_York", 2024, 6, 4, 12),
                          at("America/New_York", 2024, 6, 5, 12)) == 8 * HOUR


def test_half_hour_offset_zone_kolkata() -> None:
    calendar = BusinessCalendar("Asia/Kolkata", every(WEEKDAYS_ONLY, ("09:00", "17:30")))
    clock = Clock(calendar, utc(2024, 3, 1), utc(2024, 3, 31))
    start = at("Asia/Kolkata", 2024, 3, 4, 8)
    assert single_elapsed(clock, start, at("Asia/Kolkata", 2024, 3, 5, 10)) == 9 * HOUR + 1800
    # Fri 17:00 with 1 h: 30 min on Friday, 30 min on Monday.
    assert single_due(clock, at("Asia/Kolkata", 2024, 3, 8, 17), HOUR) == at(
        "Asia/Kolkata", 2024, 3, 11, 9, 30)
    assert single_due(clock, start, 8 * HOUR + 1800) == at("Asia/Kolkata", 2024, 3, 4, 17, 30)


def test_adelaide_across_its_dst_start() -> None:
    # Adelaide: +09:30 until Sun 2024-10-06 02:00, then +10:30.
    calendar = BusinessCalendar("Australia/Adelaide", every(WEEKDAYS_ONLY, ("09:00", "17:00")))
    clock = Clock(calendar, utc(2024, 9, 20), utc(2024, 10, 20))
    friday = at("Australia/Adelaide", 2024, 10, 4, 16)
    monday = at("Australia/Adelaide", 2024, 10, 7, 10)
    assert single_due(clock, friday, 2 * HOUR) == monday == utc(2024, 10, 6, 23, 30)
    assert single_elapsed(clock, friday, monday) == 2 * HOUR
    assert single_due_days(clock, friday, 1) == at("Australia/Adelaide", 2024, 10, 7, 16)


def test_adelaide_overnight_on_its_dst_nights() -> None:
    calendar = BusinessCalendar(
        "Australia/Adelaide", every(WEEKDAYS, ("00:00", "06:00"), ("22:00", "24:00"))
    )
    clock = Clock(calendar, utc(2024, 3, 1), utc(2024, 11, 1))
    spring = at("Australia/Adelaide", 2024, 10, 5, 22)
    autumn = at("Australia/Adelaide", 2024, 4, 6, 22)
    assert single_elapsed(clock, spring, spring + timedelta(hours=12)) == 7 * HOUR
    assert single_elapsed(clock, autumn, autumn + timedelta(hours=12)) == 9 * HOUR


US_OFFICE = BusinessCalendar("America/New_York", every(WEEKDAYS_ONLY, ("09:00", "17:00")), "US")


@cache
def us_office_clock() -> Clock:
    return Clock(US_OFFICE, utc(2024, 1, 1), utc(2025, 1, 1))


def test_thanksgiving_holiday_is_skipped() -> None:
    clock = us_office_clock()
    wednesday = at("America/New_York", 2024, 11, 27, 16)
    friday = at("America/New_York", 2024, 11, 29, 10)
    assert single_due(clock, wednesday, 2 * HOUR) == friday
    assert single_elapsed(clock, wednesday, friday) == 2 * HOUR
    thursday = at("America/New_York", 2024, 11, 28, 12)
    assert single_elapsed(clock, thursday, thursday + timedelta(hours=3)) == 0


def test_leads_outside_hours_start_at_the_next_opening() -> None:
    clock = us_office_clock()
    saturday = at("America/New_York", 2024, 6, 8, 11)
    assert single_due(clock, saturday, 60) == at("America/New_York", 2024, 6, 10, 9, 1)
    early = at("America/New_York", 2024, 6, 10, 6)
    assert single_due(clock, early, HOUR) == at("America/New_York", 2024, 6, 10, 10)
    assert clock.next_opening(ns(early)).tolist() == ns(at("America/New_York", 2024, 6, 10, 9))
    # A lead arriving exactly at the closing instant waits for the next opening.
    closing = at("America/New_York", 2024, 6, 10, 17)
    assert single_due(clock, closing, HOUR) == at("America/New_York", 2024, 6, 11, 10)


def test_budget_ending_exactly_at_closing_is_due_at_the_closing_instant() -> None:
    clock = us_office_clock()
    opening = at("America/New_York", 2024, 6, 10, 9)
    assert single_due(clock, opening, 8 * HOUR) == at("America/New_York", 2024, 6, 10, 17)
    assert single_due(clock, opening, 8 * HOUR + 1) == at("America/New_York", 2024, 6, 11, 9, 0, 1)
    split = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("09:00", "12:00"), ("13:00", "18:00")))
    split_clock = Clock(split, utc(2024, 6, 1), utc(2024, 7, 1))
    assert single_due(split_clock, utc(2024, 6, 10, 9), 3 * HOUR) == utc(2024, 6, 10, 12)
    assert single_due(split_clock, utc(2024, 6, 10, 9), 3 * HOUR + 60) == utc(2024, 6, 10, 13, 1)
    # A Friday-closing due stays on Friday, not Monday's opening.
    assert single_due(split_clock, utc(2024, 6, 14, 17), HOUR) == utc(2024, 6, 14, 18)


# --- `Nd` budgets ---------------------------------------------------------------------------------

def test_nd_across_a_weekend() -> None:
    clock = erpnext_clock()
    friday = utc(2021, 6, 25, 14)
    assert single_due_days(clock, friday, 1) == utc(2021, 6, 28, 14)
    assert single_due_days(clock, friday, 2) == utc(2021, 6, 29, 14)
    # Outside hours the start first moves to the next opening: Sat 15:00 → Mon 10:00.
    assert single_due_days(clock, utc(2021, 6, 26, 15), 1) == utc(2021, 6, 29, 10)
    assert single_due_days(clock, utc(2021, 6, 28, 20), 1) == utc(2021, 6, 30, 10)
    # A start exactly at the closing is outside the (half-open) window.
    assert single_due_days(clock, utc(2021, 6, 28, 18), 1) == utc(2021, 6, 30, 10)
    assert single_due_days(clock, utc(2021, 6, 26, 15), 0) == utc(2021, 6, 28, 10)


def test_nd_across_a_holiday_and_a_dst_change() -> None:
    clock = us_office_clock()
    wednesday = at("America/New_York", 2024, 11, 27, 16)
    assert single_due_days(clock, wednesday, 1) == at("America/New_York", 2024, 11, 29, 16)
    assert single_due_days(clock, wednesday, 2) == at("America/New_York", 2024, 12, 2, 16)
    # Same local time across spring-forward: 71 real hours later, not 72.
    friday = at("America/New_York", 2024, 3, 8, 10)
    monday = single_due_days(clock, friday, 1)
    assert monday == at("America/New_York", 2024, 3, 11, 10)
    assert monday - friday == timedelta(hours=71)


def test_nd_keeps_the_wall_time_even_outside_the_due_days_windows() -> None:
    calendar = BusinessCalendar(
        "UTC",
        every(("mon", "tue", "wed", "thu"), ("09:00", "17:00")) | {"fri": [("09:00", "12:00")]},
    )
    clock = Clock(calendar, utc(2024, 6, 1), utc(2024, 7, 1))
    assert single_due_days(clock, utc(2024, 6, 13, 15), 1) == utc(2024, 6, 14, 15)


def test_nd_wall_time_in_a_dst_gap_moves_forward_and_ambiguous_takes_the_first() -> None:
    clock = ny_overnight_clock()
    # Sat 02:30 is a working instant; Sunday's 02:30 does not exist: 03:00 EDT.
    saturday = at("America/New_York", 2024, 3, 9, 2, 30)
    assert single_due_days(clock, saturday, 1) == utc(2024, 3, 10, 7)
    # Sunday's 01:30 happens twice: the first occurrence, 01:30 EDT (05:30 UTC).
    friday = at("America/New_York", 2024, 11, 1, 1, 30)
    assert single_due_days(clock, friday, 2) == utc(2024, 11, 3, 5, 30)


# --- Inputs, missing values and limits ------------------------------------------------------------

def test_missing_instants() -> None:
    clock = erpnext_clock()
    starts = pd.Series(pd.to_datetime(["2021-06-28 11:00Z", None, "2021-06-28 11:00Z"], utc=True))
    stops = pd.Series(pd.to_datetime(["2021-06-28 12:00Z", "2021-06-28 12:00Z", None], utc=True))
    assert clock.elapsed(starts, stops).tolist() == [3600, MISSING_SECONDS, MISSING_SECONDS]
    dues = clock.due(starts, 60)
    minute_past = one_ns(utc(2021, 6, 28, 11, 1))
    assert dues.tolist() == [minute_past, NAT_NS, minute_past]
    assert pd.to_datetime(dues, utc=True).isna().tolist() == [False, True, False]
    assert clock.due_days(starts, 1).tolist()[1] == NAT_NS
    assert clock.due(starts, 0).tolist()[1] == NAT_NS


def test_inputs_of_every_kind_give_the_same_answer() -> None:
    clock = erpnext_clock()
    start, stop = utc(2021, 6, 28, 6), utc(2021, 6, 29, 11)
    kinds = [
        ([start], [stop]),
        (ns(start), ns(stop)),
        (pd.DatetimeIndex([start]).tz_convert("Asia/Tokyo"), pd.Series([stop])),
        ([start.astimezone(ZoneInfo("America/New_York"))], pd.DatetimeIndex([stop]).as_unit("s")),
    ]
    for starts, stops in kinds:
        assert clock.elapsed(starts, stops).tolist() == [32400]
    # One start against many stops broadcasts.
    assert clock.elapsed(ns(start), ns(stop, start)).tolist() == [32400, 0]


def test_stop_before_start_is_zero_and_zero_budget_is_due_at_the_start() -> None:
    clock = erpnext_clock()
    assert single_elapsed(clock, utc(2021, 6, 29, 12), utc(2021, 6, 28, 12)) == 0
    assert business_seconds(ERPNEXT, utc(2021, 6, 29, 12), utc(2021, 6, 28, 12)) == 0
    assert single_due(clock, utc(2021, 6, 26, 12), 0) == utc(2021, 6, 26, 12)


def test_nonsense_is_refused() -> None:
    clock = erpnext_clock()
    with pytest.raises(ValueError, match="naive"):
        clock.elapsed([datetime(2021, 6, 28)], [utc(2021, 6, 29)])
    with pytest.raises(ValueError, match="naive"):
        clock.due(pd.Series(pd.to_datetime(["2021-06-28 10:00"])), 60)
    with pytest.raises(ValueError, match="outside"):
        clock.elapsed([utc(2021, 1, 1)], [utc(2021, 6, 29)])
    with pytest.raises(ValueError, match="negative"):
        clock.due([utc(2021, 6, 28)], -1)
    with pytest.raises(ValueError, match="negative"):
        clock.due_days([utc(2021, 6, 28)], -1)
    with pytest.raises(ValueError, match="before"):
        Clock(ERPNEXT, utc(2021, 7, 1), utc(2021, 6, 1))


def test_dues_past_the_table_are_missing() -> None:
    clock = Clock(ERPNEXT, utc(2021, 6, 1), utc(2021, 6, 2))  # covers 60 days more
    assert clock.due(ns(utc(2021, 6, 1)), 8 * HOUR * 10).tolist() != [NAT_NS]
    assert clock.due(ns(utc(2021, 6, 1)), 8 * HOUR * 100).tolist() == [NAT_NS]
    assert clock.due_days(ns(utc(2021, 6, 1)), 100).tolist() == [NAT_NS]
    empty = Clock(BusinessCalendar("UTC", {}), utc(2021, 6, 1), utc(2021, 6, 2))
    assert empty.elapsed(ns(utc(2021, 6, 1)), ns(utc(2021, 7, 1))).tolist() == [0]
    assert empty.due(ns(utc(2021, 6, 1)), 1).tolist() == [NAT_NS]
    assert empty.due_days(ns(utc(2021, 6, 1)), 1).tolist() == [NAT_NS]


CASES = {
    "new_york_split_and_nights": (
        "America/New_York",
        every(WEEKDAYS_ONLY, ("09:00", "12:00"), ("13:00", "18:00")) | {
            "sat": [("22:00", "24:00")],
            "sun": [("00:00", "01:00"), ("01:30", "06:00"), ("22:00", "24:00")],
        },
        "US",
        [date(2024, 7, 5)],
    ),
    "new_york_overnight": (
        "America/New_York", every(WEEKDAYS, ("00:00", "06:00"), ("22:00", "24:00")), None, []
    ),
    "adelaide": ("Australia/Adelaide", every(WEEKDAYS_ONLY, ("09:00", "17:00")), "AU", []),
    "kolkata": ("Asia/Kolkata", every(WEEKDAYS_ONLY, ("09:30", "17:30")), None, []),
    "berlin_gap": (
        "Europe/Berlin",
        every(WEEKDAYS_ONLY, ("08:00", "16:00")) | {"sun": [("02:30", "05:00")]},
        None,
        [date(2024, 12, 24)],
    ),
    "utc_erpnext": ("UTC", every(WEEKDAYS_ONLY, ("10:00", "18:00")), None, []),
}
PROPERTY_START = utc(2024, 1, 1)
PROPERTY_SECONDS = 366 * 86400
MAX_SPAN = 20 * 86400
MAX_BUDGET = 6 * 8 * HOUR


@cache
def calendar_for(name: str) -> BusinessCalendar:
    zone, hours, country, closed = CASES[name]
    return BusinessCalendar(zone, hours, country, closed_dates=closed)


@cache
def clock_for(name: str) -> Clock:
    return Clock(calendar_for(name), PROPERTY_START - timedelta(days=2),
                 PROPERTY_START + timedelta(seconds=PROPERTY_SECONDS))


@cache
def reference_for(name: str) -> Reference:
    return Reference(calendar_for(name), CASES[name][1], date(2023, 12, 25), date(2025, 4, 1))


def epoch(offset: int) -> int:
    """Epoch seconds of an offset into the property range."""
    return int(PROPERTY_START.timestamp()) + offset


names = st.sampled_from(sorted(CASES))
offsets = st.integers(min_value=0, max_value=PROPERTY_SECONDS)
spans = st.integers(min_value=0, max_value=MAX_SPAN)
budgets = st.integers(min_value=1, max_value=MAX_BUDGET)


def seconds_ns(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64) * NS_PER_SECOND


@settings(max_examples=60, deadline=None)
@given(name=names, offset=offsets, first=spans, second=spans)
def test_elapsed_is_additive_over_adjacent_intervals(
    name: str, offset: int, first: int, second: int
) -> None:
    clock = clock_for(name)
    a, b, c = seconds_ns(epoch(offset), epoch(offset + first), epoch(offset + first + second))
    ab, bc, ac = clock.elapsed(np.array([a, b, a]), np.array([b, c, c])).tolist()
    assert ab + bc == ac
    assert 0 <= ac <= first + second


@settings(max_examples=60, deadline=None)
@given(name=names, offset=offsets, budget=budgets)
def test_due_and_elapsed_are_inverses_and_due_is_the_earliest(
    name: str, offset: int, budget: int
) -> None:
    clock = clock_for(name)
    start = seconds_ns(epoch(offset))
    due = clock.due(start, budget)
    assert clock.elapsed(start, due).tolist() == [budget]
    assert clock.elapsed(start, due - 1).tolist() == [budget - 1]
    assert (due > start).all()


@settings(max_examples=60, deadline=None)
@given(name=names, offset=offsets, span=spans, budget=budgets, extra=budgets)
def test_due_and_elapsed_are_monotonic(
    name: str, offset: int, span: int, budget: int, extra: int
) -> None:
    clock = clock_for(name)
    early, late = seconds_ns(epoch(offset)), seconds_ns(epoch(offset + span))
    assert clock.due(early, budget) <= clock.due(late, budget)
    assert clock.due(early, budget) <= clock.due(early, budget + extra)
    stop = late + seconds_ns(MAX_SPAN)
    assert clock.elapsed(early, stop) >= clock.elapsed(late, stop)
    assert clock.elapsed(early, late) <= clock.elapsed(early, stop)


@settings(max_examples=60, deadline=None)
@given(name=names, offset=offsets, span=spans, budget=budgets, days=st.integers(0, 7))
def test_vectorized_results_equal_the_reference(
    name: str, offset: int, span: int, budget: int, days: int
) -> None:
    clock, reference = clock_for(name), reference_for(name)
    start, stop = epoch(offset), epoch(max(0, offset + span - MAX_SPAN // 4))
    assert clock.elapsed(seconds_ns(start), seconds_ns(stop)).tolist() == [
        reference.elapsed(start, stop)]
    assert clock.due(seconds_ns(start), budget).tolist() == [
        reference.due(start, budget) * NS_PER_SECOND]
    assert clock.due_days(seconds_ns(start), days).tolist() == [
        reference.due_days(start, days) * NS_PER_SECOND]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_batch_of_random_leads_equals_the_reference(name: str) -> None:
    clock, reference = clock_for(name), reference_for(name)
    rng = np.random.default_rng(len(name))
    starts = epoch(0) + rng.integers(0, PROPERTY_SECONDS, 150)
    stops = starts + rng.integers(-86400, MAX_SPAN, 150)
    budget, days = int(rng.integers(1, MAX_BUDGET)), int(rng.integers(1, 6))
    start_ns, stop_ns = starts * NS_PER_SECOND, stops * NS_PER_SECOND
    pairs = zip(starts.tolist(), stops.tolist(), strict=True)
    assert clock.elapsed(start_ns, stop_ns).tolist() == [reference.elapsed(*pair) for pair in pairs]
    assert (clock.due(start_ns, budget) // NS_PER_SECOND).tolist() == [
        reference.due(start, budget) for start in starts.tolist()]
    assert (clock.due_days(start_ns, days) // NS_PER_SECOND).tolist() == [
        reference.due_days(start, days) for start in starts.tolist()]


def test_every_minute_around_dst_nights_equals_the_reference() -> None:
    clock, reference = clock_for("new_york_overnight"), reference_for("new_york_overnight")
    for night in (utc(2024, 3, 9, 20), utc(2024, 11, 2, 20)):
        starts = int(night.timestamp()) + np.arange(0, 16 * HOUR, 60 * 7, dtype=np.int64)
        start_ns = starts * NS_PER_SECOND
        assert (clock.due(start_ns, 5 * HOUR) // NS_PER_SECOND).tolist() == [
            reference.due(start, 5 * HOUR) for start in starts.tolist()]
        assert (clock.due_days(start_ns, 1) // NS_PER_SECOND).tolist() == [
            reference.due_days(start, 1) for start in starts.tolist()]


def test_200_000_leads_run_vectorized() -> None:
    clock = clock_for("new_york_split_and_nights")
    rng = np.random.default_rng(7)
    starts = (epoch(0) + rng.integers(0, PROPERTY_SECONDS - MAX_SPAN, 200_000)) * NS_PER_SECOND
    stops = starts + rng.integers(0, MAX_SPAN, 200_000) * NS_PER_SECOND
    elapsed = clock.elapsed(pd.Series(pd.to_datetime(starts, utc=True)), stops)
    dues = clock.due(starts, 4 * HOUR)
    nd = clock.due_days(starts, 2)
    assert elapsed.shape == dues.shape == nd.shape == (200_000,)
    assert (clock.elapsed(starts, dues) == 4 * HOUR).all()
    assert (nd > starts).all() and (elapsed >= 0).all()
