"""Business calendars: UTC working segments, DST, holidays and the 14-day preview."""

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import (
    CLOSED_DATE,
    NO_WORKING_HOURS,
    NS_PER_SECOND,
    WEEKDAYS,
    BusinessCalendar,
    PreviewDay,
    Segments,
)
from tests.unit.clock_cases import ERPNEXT_CASES, WEEKDAYS_ONLY, every

NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    """A UTC datetime from year, month, day[, hour, minute]."""
    return datetime(*parts, tzinfo=UTC)


def at(zone: str, *parts: int, fold: int = 0) -> datetime:
    """A local aware datetime in an IANA zone."""
    return datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold)


def ny(*parts: int) -> datetime:
    """A New York local datetime."""
    return datetime(*parts, tzinfo=NEW_YORK)


def bounds(segments: Segments) -> list[tuple[datetime, datetime]]:
    """Segments as UTC datetime pairs, for readable assertions."""
    return [
        (
            datetime.fromtimestamp(start / NS_PER_SECOND, UTC),
            datetime.fromtimestamp(end / NS_PER_SECOND, UTC),
        )
        for start, end in zip(segments.starts.tolist(), segments.ends.tolist(), strict=True)
    ]


def seconds_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Business seconds of the calendar inside [start, end)."""
    return calendar.segments(start, end).total_seconds


# --- A. erpnext: Mon–Fri 10:00–18:00 UTC, 2021-06-25 is a Friday ---------------------------------

ERPNEXT = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("10:00", "18:00")))



def erpnext_instant(text: str) -> datetime:
    """"MM-DD HH:MM" in June/July 2021, UTC."""
    return datetime.strptime(f"2021-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize(("start", "stop", "expected"), ERPNEXT_CASES)
def test_erpnext_first_response_cases(start: str, stop: str, expected: int) -> None:
    assert seconds_between(ERPNEXT, erpnext_instant(start), erpnext_instant(stop)) == expected


def test_weekday_segments_are_one_per_working_day_with_cumulative_nanoseconds() -> None:
    segments = ERPNEXT.segments(utc(2021, 6, 28, 6), utc(2021, 7, 1, 20))
    assert bounds(segments) == [
        (utc(2021, 6, day, 10), utc(2021, 6, day, 18)) for day in (28, 29, 30)
    ] + [(utc(2021, 7, 1, 10), utc(2021, 7, 1, 18))]
    eight_hours = 8 * 3600 * NS_PER_SECOND
    assert segments.cumulative.tolist() == [0, eight_hours, 2 * eight_hours, 3 * eight_hours]
    assert segments.starts.dtype == segments.ends.dtype == segments.cumulative.dtype == np.int64
    assert segments.total_seconds == 115200
    assert segments.total_ns == 115200 * NS_PER_SECOND
    assert len(segments) == 4


def test_to_frame_has_utc_columns_and_seconds() -> None:
    frame = ERPNEXT.segments(utc(2021, 6, 28), utc(2021, 6, 30)).to_frame()
    assert list(frame.columns) == ["start", "end", "seconds", "cumulative_seconds"]
    assert str(frame["start"].dt.tz) == "UTC" and str(frame["end"].dt.tz) == "UTC"
    assert frame["start"].iloc[1] == pd.Timestamp("2021-06-29 10:00", tz="UTC")
    assert frame["seconds"].tolist() == [28800, 28800]
    assert frame["cumulative_seconds"].tolist() == [0, 28800]


def test_segment_arrays_are_read_only() -> None:
    segments = ERPNEXT.segments(utc(2021, 6, 28), utc(2021, 6, 30))
    with pytest.raises(ValueError):
        segments.starts[0] = 0


# --- Shapes of the working day ------------------------------------------------------------------


def test_split_shift_gives_two_segments_a_day() -> None:
    calendar = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("09:00", "12:00"), ("13:00", "18:00")))
    segments = calendar.segments(utc(2024, 3, 4), utc(2024, 3, 5))
    assert bounds(segments) == [
        (utc(2024, 3, 4, 9), utc(2024, 3, 4, 12)),
        (utc(2024, 3, 4, 13), utc(2024, 3, 4, 18)),
    ]
    assert seconds_between(calendar, utc(2024, 3, 4, 11), utc(2024, 3, 4, 14)) == 2 * 3600


def test_adjacent_and_overlapping_windows_merge() -> None:
    calendar = BusinessCalendar("UTC", {"mon": [("09:00", "12:00"), ("12:00", "15:00"),
                                                ("14:00", "16:00")]})
    assert bounds(calendar.segments(utc(2024, 3, 4), utc(2024, 3, 5))) == [
        (utc(2024, 3, 4, 9), utc(2024, 3, 4, 16))
    ]


def test_overnight_shift_is_one_segment_across_midnight() -> None:
    calendar = BusinessCalendar("UTC", {"mon": [("22:00", "24:00")], "tue": [("00:00", "06:00")]})
    segments = calendar.segments(utc(2024, 3, 4), utc(2024, 3, 6))
    assert bounds(segments) == [(utc(2024, 3, 4, 22), utc(2024, 3, 5, 6))]
    assert segments.total_seconds == 8 * 3600


def test_24_00_is_the_next_local_midnight() -> None:
    calendar = BusinessCalendar("Asia/Tokyo", {"fri": [("18:00", "24:00")]})
    assert bounds(calendar.segments(utc(2024, 3, 1), utc(2024, 3, 3))) == [
        (utc(2024, 3, 1, 9), utc(2024, 3, 1, 15))
    ]


def test_segments_are_clipped_to_the_half_open_range() -> None:
    segments = ERPNEXT.segments(utc(2021, 6, 28, 12, 30), utc(2021, 6, 29, 11))
    assert bounds(segments) == [
        (utc(2021, 6, 28, 12, 30), utc(2021, 6, 28, 18)),
        (utc(2021, 6, 29, 10), utc(2021, 6, 29, 11)),
    ]
    assert len(ERPNEXT.segments(utc(2021, 6, 28, 18), utc(2021, 6, 29, 10))) == 0
    assert len(ERPNEXT.segments(utc(2021, 6, 28, 12), utc(2021, 6, 28, 12))) == 0


def test_start_and_end_may_be_in_any_zone_or_pandas_timestamps() -> None:
    start = at("America/Sao_Paulo", 2021, 6, 28, 3)  # 06:00 UTC
    end = pd.Timestamp("2021-07-01 20:00", tz="UTC")
    assert seconds_between(ERPNEXT, start, end) == 115200


def test_sub_second_bounds_are_kept_in_nanoseconds() -> None:
    half_second_later = pd.Timestamp("2021-06-28 10:00:00.5", tz="UTC")
    segments = ERPNEXT.segments(utc(2021, 6, 28, 10), half_second_later)
    assert segments.total_ns == NS_PER_SECOND // 2
    assert segments.total_seconds == 0


# --- Daylight saving time and odd offsets -------------------------------------------------------

def overnight(zone: str) -> BusinessCalendar:
    """Every night 22:00–06:00, written as two windows."""
    return BusinessCalendar(zone, every(WEEKDAYS, ("00:00", "06:00"), ("22:00", "24:00")))


def test_spring_forward_night_is_seven_hours_in_one_segment() -> None:
    calendar = overnight("America/New_York")
    night = calendar.segments(ny(2024, 3, 9, 12), ny(2024, 3, 10, 12))
    assert bounds(night) == [(utc(2024, 3, 10, 3), utc(2024, 3, 10, 10))]
    assert night.total_seconds == 7 * 3600


def test_fall_back_night_is_nine_hours_in_one_segment() -> None:
    calendar = overnight("America/New_York")
    night = calendar.segments(ny(2024, 11, 2, 12), ny(2024, 11, 3, 12))
    assert bounds(night) == [(utc(2024, 11, 3, 2), utc(2024, 11, 3, 11))]
    assert night.total_seconds == 9 * 3600


def test_window_starting_in_the_dst_gap_moves_to_the_end_of_the_gap() -> None:
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [("02:30", "05:00")]})
    (window,) = calendar.day_windows(date(2024, 3, 31))
    assert window == (at("Europe/Berlin", 2024, 3, 31, 3), at("Europe/Berlin", 2024, 3, 31, 5))
    assert bounds(calendar.segments(utc(2024, 3, 30), utc(2024, 4, 1))) == [
        (utc(2024, 3, 31, 1), utc(2024, 3, 31, 3))
    ]


def test_window_ending_in_the_dst_gap_ends_at_the_end_of_the_gap() -> None:
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [("01:00", "02:30")]})
    assert bounds(calendar.segments(utc(2024, 3, 30), utc(2024, 4, 1))) == [
        (utc(2024, 3, 31, 0), utc(2024, 3, 31, 1))
    ]


def test_window_inside_the_dst_gap_vanishes() -> None:
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [("02:10", "02:50")]})
    assert len(calendar.segments(utc(2024, 3, 30), utc(2024, 4, 1))) == 0
    (day,) = calendar.preview(utc(2024, 3, 31, 12), days=1)
    assert day.closed_reason == NO_WORKING_HOURS and day.business_seconds == 0


def test_ambiguous_boundaries_take_the_first_occurrence() -> None:
    starts_ambiguous = BusinessCalendar("Europe/Berlin", {"sun": [("02:30", "04:00")]})
    assert bounds(starts_ambiguous.segments(utc(2024, 10, 26), utc(2024, 10, 28))) == [
        (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 3))
    ]
    ends_ambiguous = BusinessCalendar("Europe/Berlin", {"sun": [("00:00", "02:30")]})
    assert bounds(ends_ambiguous.segments(utc(2024, 10, 26), utc(2024, 10, 28))) == [
        (utc(2024, 10, 26, 22), utc(2024, 10, 27, 0, 30))
    ]


def test_24_00_inside_a_midnight_gap_is_the_first_instant_of_the_next_day() -> None:
    # Sao Paulo sprang forward at midnight: 2018-11-04 00:00 -03 became 01:00 -02.
    calendar = BusinessCalendar("America/Sao_Paulo", {"sat": [("22:00", "24:00")]})
    assert bounds(calendar.segments(utc(2018, 11, 3), utc(2018, 11, 5))) == [
        (utc(2018, 11, 4, 1), utc(2018, 11, 4, 3))
    ]
    (day,) = calendar.preview(utc(2018, 11, 3, 12), days=1)
    assert day.label() == "Sat 03 Nov: 22:00–24:00 (2 h)"


def test_half_hour_offset_zone_kolkata() -> None:
    calendar = BusinessCalendar("Asia/Kolkata", every(WEEKDAYS_ONLY, ("09:00", "17:30")))
    assert bounds(calendar.segments(utc(2024, 3, 4), utc(2024, 3, 5))) == [
        (utc(2024, 3, 4, 3, 30), utc(2024, 3, 4, 12))
    ]


def test_half_hour_offset_zone_adelaide_across_its_dst_start() -> None:
    # Adelaide: +09:30 until 2024-10-06 02:00, then +10:30.
    calendar = BusinessCalendar("Australia/Adelaide", every(WEEKDAYS_ONLY, ("09:00", "17:00")))
    friday, monday = bounds(calendar.segments(utc(2024, 10, 3, 12), utc(2024, 10, 7, 12)))
    assert friday == (utc(2024, 10, 3, 23, 30), utc(2024, 10, 4, 7, 30))
    assert monday == (utc(2024, 10, 6, 22, 30), utc(2024, 10, 7, 6, 30))


def test_half_hour_offset_zone_adelaide_overnight_on_its_dst_nights() -> None:
    calendar = overnight("Australia/Adelaide")
    spring = calendar.segments(at("Australia/Adelaide", 2024, 10, 5, 12),
                               at("Australia/Adelaide", 2024, 10, 6, 12))
    autumn = calendar.segments(at("Australia/Adelaide", 2024, 4, 6, 12),
                               at("Australia/Adelaide", 2024, 4, 7, 12))
    assert bounds(spring) == [(utc(2024, 10, 5, 12, 30), utc(2024, 10, 5, 19, 30))]
    assert bounds(autumn) == [(utc(2024, 4, 6, 11, 30), utc(2024, 4, 6, 20, 30))]


# --- Holidays and closed dates ------------------------------------------------------------------

SAO_PAULO_HOURS = every(WEEKDAYS_ONLY, ("09:00", "12:00"), ("13:00", "18:00"))


def test_subdivision_holiday_closes_the_day_only_with_the_subdivision() -> None:
    # 2018-07-09 (a Monday) is São Paulo's Constitutionalist Revolution, not a national holiday.
    national = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS, holiday_country="BR")
    sao_paulo = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS, "BR", "SP")
    day = (at("America/Sao_Paulo", 2018, 7, 9), at("America/Sao_Paulo", 2018, 7, 10))
    assert seconds_between(national, *day) == 8 * 3600
    assert seconds_between(sao_paulo, *day) == 0
    assert sao_paulo.closed_reason(date(2018, 7, 9)) == "Constitutionalist Revolution"


def test_carnival_closes_only_as_an_extra_closed_date() -> None:
    # The holidays package lists Carnival only as an optional holiday, so BR/SP keeps it open.
    listed = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS, "BR", "SP")
    assert listed.holiday_name(date(2018, 2, 13)) is None
    closed = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS, "BR", "SP",
                              closed_dates=[date(2018, 2, 12), date(2018, 2, 13)])
    week = (at("America/Sao_Paulo", 2018, 2, 12), at("America/Sao_Paulo", 2018, 2, 17))
    assert seconds_between(listed, *week) == 5 * 8 * 3600
    assert seconds_between(closed, *week) == 3 * 8 * 3600
    assert closed.closed_reason(date(2018, 2, 13)) == CLOSED_DATE


def test_us_thanksgiving_is_closed() -> None:
    calendar = BusinessCalendar("America/New_York", every(WEEKDAYS_ONLY, ("09:00", "17:00")), "US")
    week = calendar.segments(ny(2024, 11, 25), ny(2024, 11, 30))
    assert week.total_seconds == 4 * 8 * 3600
    assert calendar.closed_reason(date(2024, 11, 28)) == "Thanksgiving Day"
    assert not calendar.is_working_day(date(2024, 11, 28))
    assert calendar.is_working_day(date(2024, 11, 29))


def test_holiday_removes_the_morning_part_of_an_overnight_shift_it_is_written_on() -> None:
    calendar = BusinessCalendar("America/New_York", overnight_hours_sun_to_fri(), "US")
    segments = calendar.segments(ny(2024, 11, 27, 12),
                                 ny(2024, 11, 29, 12))
    # Wed night's 22:00–24:00 stays (it belongs to Wednesday); Thanksgiving drops both its parts.
    assert bounds(segments) == [
        (utc(2024, 11, 28, 3), utc(2024, 11, 28, 5)),
        (utc(2024, 11, 29, 5), utc(2024, 11, 29, 11)),
    ]


def overnight_hours_sun_to_fri() -> dict[str, list[tuple[str, str]]]:
    """A night shift Sun–Thu 22:00 to Mon–Fri 06:00."""
    hours = every(("sun", "mon", "tue", "wed", "thu"), ("22:00", "24:00"))
    for day in WEEKDAYS_ONLY:
        hours.setdefault(day, []).insert(0, ("00:00", "06:00"))
    return hours


def test_holidays_of_every_year_in_the_range_are_used() -> None:
    calendar = BusinessCalendar("America/New_York", every(WEEKDAYS_ONLY, ("09:00", "17:00")), "US")
    closed = {day.local_date for day in calendar.preview(utc(2024, 12, 23, 12), days=14)
              if day.closed_reason not in (None, NO_WORKING_HOURS)}
    assert closed == {date(2024, 12, 25), date(2025, 1, 1)}
    # 2024-12-23 .. 2025-01-03: 10 weekdays, two of them holidays.
    span = calendar.segments(ny(2024, 12, 23), ny(2025, 1, 4))
    assert span.total_seconds == 8 * 8 * 3600


def test_holiday_wins_over_a_closed_date_and_a_weekend_as_the_reason() -> None:
    calendar = BusinessCalendar("UTC", every(WEEKDAYS_ONLY, ("09:00", "17:00")), "US",
                                closed_dates=[date(2024, 12, 25), date(2024, 12, 27)])
    assert calendar.closed_reason(date(2024, 12, 25)) == "Christmas Day"
    assert calendar.closed_reason(date(2024, 12, 27)) == CLOSED_DATE
    assert calendar.closed_reason(date(2024, 12, 28)) == NO_WORKING_HOURS
    assert calendar.closed_reason(date(2024, 12, 26)) is None


# --- Preview ------------------------------------------------------------------------------------


def test_preview_lists_14_days_with_closed_reasons_and_labels() -> None:
    calendar = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS, "BR", "SP",
                                closed_dates=[date(2018, 2, 12), date(2018, 2, 13)])
    days = calendar.preview(at("America/Sao_Paulo", 2018, 2, 5, 23, 30))
    assert len(days) == 14
    assert [day.local_date for day in days] == [date(2018, 2, 5) + timedelta(n) for n in range(14)]
    assert [day.weekday for day in days[:7]] == list(WEEKDAYS)
    labels = [day.label() for day in days]
    assert labels[0] == "Mon 05 Feb: 09:00–12:00, 13:00–18:00 (8 h)"
    assert labels[5] == "Sat 10 Feb: closed — no working hours"
    assert labels[8] == "Tue 13 Feb: closed — closed date"
    assert days[8].windows == [] and days[8].business_seconds == 0
    assert days[9].closed_reason is None and days[9].business_seconds == 8 * 3600


def test_preview_windows_are_local_and_utc() -> None:
    calendar = BusinessCalendar("America/Sao_Paulo", SAO_PAULO_HOURS)
    # 2018-03-05: Sao Paulo is at -03:00 (its DST ended on 2018-02-18).
    (monday,) = calendar.preview(utc(2018, 3, 5, 12), days=1)
    assert monday.windows[0] == (at("America/Sao_Paulo", 2018, 3, 5, 9),
                                 at("America/Sao_Paulo", 2018, 3, 5, 12))
    assert monday.utc_windows == [(utc(2018, 3, 5, 12), utc(2018, 3, 5, 15)),
                                  (utc(2018, 3, 5, 16), utc(2018, 3, 5, 21))]
    assert monday.label() == "Mon 05 Mar: 09:00–12:00, 13:00–18:00 (8 h)"


def test_preview_names_holidays_and_counts_real_time_on_dst_days() -> None:
    calendar = BusinessCalendar("America/New_York", overnight_hours_sun_to_fri(), "US")
    days = {day.local_date: day for day in calendar.preview(utc(2024, 11, 20, 12), days=14)}
    assert days[date(2024, 11, 28)].label() == "Thu 28 Nov: closed — Thanksgiving Day"
    assert days[date(2024, 11, 25)].label() == "Mon 25 Nov: 00:00–06:00, 22:00–24:00 (8 h)"
    assert days[date(2024, 11, 23)].label() == "Sat 23 Nov: closed — no working hours"
    (sunday,) = calendar.preview(utc(2024, 3, 10, 12), days=1)
    assert sunday.label() == "Sun 10 Mar: 22:00–24:00 (2 h)"
    mornings = BusinessCalendar("America/New_York", {"sun": [("00:00", "06:00")]})
    (short_sunday,) = mornings.preview(utc(2024, 3, 10, 12), days=1)
    assert short_sunday.label() == "Sun 10 Mar: 00:00–06:00 (5 h)"


def test_preview_business_seconds_sum_to_the_segments_total() -> None:
    calendar = BusinessCalendar("America/New_York", overnight_hours_sun_to_fri(), "US",
                                closed_dates=[date(2024, 11, 6)])
    start = ny(2024, 10, 28, 15)
    days = calendar.preview(start)
    first_instant = ny(2024, 10, 28)
    after_last = ny(2024, 11, 11)
    assert sum(day.business_seconds for day in days) == seconds_between(
        calendar, first_instant, after_last)


def test_preview_labels_show_partial_hours() -> None:
    calendar = BusinessCalendar("UTC", {"mon": [("09:00", "16:30")], "tue": [("09:15", "10:00")]})
    monday, tuesday = calendar.preview(utc(2024, 3, 4), days=2)
    assert monday.label() == "Mon 04 Mar: 09:00–16:30 (7 h 30 min)"
    assert tuesday.label() == "Tue 05 Mar: 09:15–10:00 (45 min)"
    assert isinstance(monday, PreviewDay)


def test_hours_on_reads_back_the_windows() -> None:
    calendar = BusinessCalendar("UTC", {"mon": [("13:00", "18:00"), ("09:00", "12:00")],
                                        "sat": [("22:00", "24:00")]})
    assert calendar.hours_on("mon") == [("09:00", "12:00"), ("13:00", "18:00")]
    assert calendar.hours_on("sat") == [("22:00", "24:00")]
    assert calendar.hours_on("sun") == []


# --- Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"hours": {"monday": [("09:00", "17:00")]}}, "weekday"),
        ({"hours": {"mon": [("9:00", "17:00")]}}, "HH:MM"),
        ({"hours": {"mon": [("09:00", "25:00")]}}, "HH:MM"),
        ({"hours": {"mon": [("24:00", "24:00")]}}, "HH:MM"),
        ({"hours": {"mon": [("17:00", "09:00")]}}, "not after"),
        ({"hours": {"mon": [("09:00", "09:00")]}}, "not after"),
        ({"hours": {"mon": [(540, 1020)]}}, "HH:MM"),
        ({"hours": {"mon": [("09:00",)]}}, "pair"),
        ({"holiday_country": "XX"}, "holidays"),
        ({"holiday_country": "BR", "holiday_subdivision": "ZZ"}, "holidays"),
        ({"holiday_subdivision": "SP"}, "needs a country"),
        ({"closed_dates": [datetime(2024, 1, 1)]}, "must be dates"),
    ],
)
def test_nonsense_is_refused(kwargs: dict, message: str) -> None:
    arguments = {"timezone": "UTC", "hours": {"mon": [("09:00", "17:00")]}} | kwargs
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_naive_datetimes_and_reversed_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        ERPNEXT.segments(datetime(2021, 6, 28), utc(2021, 6, 29))
    with pytest.raises(ValueError, match="naive"):
        ERPNEXT.segments(utc(2021, 6, 28), datetime(2021, 6, 29))
    with pytest.raises(ValueError, match="naive"):
        ERPNEXT.preview(datetime(2021, 6, 28))
    with pytest.raises(ValueError, match="before"):
        ERPNEXT.segments(utc(2021, 6, 29), utc(2021, 6, 28))


# --- Properties ---------------------------------------------------------------------------------

# Boundaries avoid the ambiguous hour's ends so that "an instant works iff its local wall time
# lies in a window of its local date" is an exact reference; the 02:30 start falls in the gap.
REFERENCE_HOURS = every(WEEKDAYS_ONLY, ("09:00", "12:00"), ("13:00", "18:00")) | {
    "sat": [("22:00", "24:00")],
    "sun": [("00:00", "01:00"), ("02:30", "06:00"), ("22:00", "24:00")],
    "mon": [("00:00", "06:00"), ("09:00", "12:00"), ("13:00", "18:00")],
}
REFERENCE = BusinessCalendar("America/New_York", REFERENCE_HOURS, "US",
                             closed_dates=[date(2024, 7, 5), date(2025, 3, 10)])
RANGE_START = utc(2024, 1, 1)
RANGE_SECONDS = 2 * 366 * 86400


@cache
def reference_segments() -> Segments:
    """Two years of the reference calendar's segments."""
    return REFERENCE.segments(RANGE_START, RANGE_START + timedelta(seconds=RANGE_SECONDS))


def works_by_wall_clock(instant: datetime) -> bool:
    """Whether the reference calendar works at an instant, judged on its local wall time."""
    local = instant.astimezone(NEW_YORK)
    if REFERENCE.closed_reason(local.date()) is not None:
        return False
    minute = local.hour * 60 + local.minute
    windows = REFERENCE_HOURS.get(WEEKDAYS[local.weekday()], [])
    return any(clock_minutes(start) <= minute < clock_minutes(end) for start, end in windows)


def clock_minutes(text: str) -> int:
    """Minutes after midnight of "HH:MM"."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def works_by_segments(instants_ns: np.ndarray) -> np.ndarray:
    """Whether each instant lies inside a reference segment, via searchsorted."""
    segments = reference_segments()
    index = np.searchsorted(segments.starts, instants_ns, side="right") - 1
    return (index >= 0) & (instants_ns < segments.ends[np.maximum(index, 0)])


def test_segments_agree_with_the_wall_clock_every_quarter_hour_of_2024() -> None:
    instants = pd.date_range("2024-01-01", "2025-01-01", freq="15min", tz="UTC", inclusive="left")
    expected = np.array([works_by_wall_clock(instant) for instant in instants.to_pydatetime()])
    actual = works_by_segments(instants.as_unit("ns").asi8)
    assert (actual == expected).all()


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=RANGE_SECONDS - 1))
def test_segments_agree_with_the_wall_clock_at_any_second(offset: int) -> None:
    instant = RANGE_START + timedelta(seconds=offset)
    instant_ns = np.array([offset * NS_PER_SECOND + int(RANGE_START.timestamp()) * NS_PER_SECOND])
    assert bool(works_by_segments(instant_ns)[0]) == works_by_wall_clock(instant)


def assert_well_formed(segments: Segments) -> None:
    """Sorted, non-empty, non-overlapping, merged, with consistent cumulative times."""
    assert (segments.ends > segments.starts).all()
    assert (segments.starts[1:] > segments.ends[:-1]).all()
    expected_cumulative = np.concatenate(([0], np.cumsum(segments.durations)[:-1]))
    assert segments.cumulative.tolist() == expected_cumulative[: len(segments)].tolist()


@settings(max_examples=100, deadline=None)
@given(
    start_offset=st.integers(min_value=0, max_value=RANGE_SECONDS * 10**6),
    first_span=st.integers(min_value=1, max_value=20 * 86400 * 10**6),
    second_span=st.integers(min_value=1, max_value=20 * 86400 * 10**6),
    zone=st.sampled_from([UTC, NEW_YORK, ZoneInfo("Asia/Kolkata")]),
)
def test_segments_split_additively_and_are_well_formed(
    start_offset: int, first_span: int, second_span: int, zone: ZoneInfo
) -> None:
    # Offsets are added in UTC: arithmetic on aware datetimes of one zone is wall-clock arithmetic.
    start_utc = RANGE_START + timedelta(microseconds=start_offset)
    mid_utc = start_utc + timedelta(microseconds=first_span)
    end_utc = mid_utc + timedelta(microseconds=second_span)
    start, mid, end = (instant.astimezone(zone) for instant in (start_utc, mid_utc, end_utc))
    whole = REFERENCE.segments(start, end)
    first, second = REFERENCE.segments(start, mid), REFERENCE.segments(mid, end)
    assert first.total_ns + second.total_ns == whole.total_ns
    for segments in (whole, first, second):
        assert_well_formed(segments)
    assert whole.total_ns <= (first_span + second_span) * 1000


def test_two_years_of_reference_segments_are_well_formed() -> None:
    assert_well_formed(reference_segments())
