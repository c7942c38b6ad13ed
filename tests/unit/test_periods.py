"""Periods, months and quarters, business-time shares and the version in force (core.periods)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core import agreement as sla
from core import periods
from core.agreement import business_calendar


def test_quarters():
    assert periods.previous_quarters("2018-Q2", 4) == ["2017-Q2", "2017-Q3", "2017-Q4",
                                                       "2018-Q1"]
    assert periods.next_quarter("2018-Q4") == "2019-Q1"
    assert periods.normal_quarter(" 2018-q3 ") == "2018-Q3"
    assert periods.quarter_of_month("2018-08") == "2018-Q3"
    assert periods.quarter_of_month("2018-12-31") == "2018-Q4"
    assert periods.quarter_of(date(2018, 12, 31)) == "2018-Q4"
    assert periods.month_of(pd.Timestamp("2018-03-31 23:00", tz="UTC")) == "2018-03"
    assert periods.quarter_months("2018-Q1", shift=-1) == ["2017-12", "2018-01", "2018-02"]
    for text in ("2018-Q5", "2018Q1", "", None):
        with pytest.raises(ValueError, match="is not a quarter such as 2018-Q3"):
            periods.parse_quarter(text)


@pytest.mark.parametrize(("text", "before"), [
    ("2018-03", "2018-02"), ("2018-01", "2017-12"), ("2018-Q1", "2017-Q4"),
    ("2018-01-01:2018-04-01", "2017-10-03:2018-01-01"),  # the same 90 days
])
def test_the_period_before(text, before):
    assert periods.previous_period(text) == before


def test_periods_are_read_as_local_midnights_in_the_calendar_zone():
    march = periods.parse_period("2018-03", "America/New_York")
    assert (march.start, march.end) == (pd.Timestamp("2018-03-01 05:00", tz="UTC"),
                                        pd.Timestamp("2018-04-01 04:00", tz="UTC"))  # DST
    quarter = periods.parse_period("2018-Q1", "UTC")
    assert (quarter.start.month, quarter.end.month) == (1, 4)
    for text in ("2018-13", "2018-04-01:2018-03-01", "2018-01-01:9999-01-01", "soon"):
        with pytest.raises(ValueError, match="period"):
            periods.parse_period(text, "UTC")


def office_hours() -> sla.Document:
    return sla.template(title="Office", start=date(2018, 1, 1), end=date(2019, 1, 1),
                        timezone="UTC")


def test_business_time_shares_of_a_period():
    calendar = business_calendar(office_hours())
    week = periods.parse_period("2018-03-05:2018-03-12", "UTC")  # Monday to Monday
    monday_noon = pd.Timestamp("2018-03-05 12:00", tz="UTC")
    assert periods.elapsed_fraction(calendar, week, week.start) == 0.0
    assert periods.elapsed_fraction(calendar, week, week.end) == 1.0
    by_day = periods.fraction_by_day(calendar, week, periods.period_days(calendar, week))
    assert by_day.round(2).tolist() == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    assert 0 < periods.elapsed_fraction(calendar, week, monday_noon) < 0.2
    assert periods.WorkingDays(calendar, week).units("week") == 1


def test_the_version_in_force_is_the_latest_signed_covering_the_instant():
    first = office_hours()
    data = sla.to_dict(first)
    data["effective"]["start"] = "2018-07-01"
    second = sla.from_dict(data)
    versions = [periods.InForce(1, first), periods.InForce(2, second)]
    instants = pd.to_datetime(["2018-03-01", "2018-08-01", "2019-02-01"], utc=True)
    assert periods.in_force(instants.as_unit("ns").asi8, versions).tolist() == [0, 1, -1]
    assert periods.in_force_at(pd.Timestamp("2018-08-01", tz="UTC"), versions).number == 2
    assert periods.in_force_at(pd.Timestamp("2020-01-01", tz="UTC"), versions) is None
    half = periods.parse_period("2018-12-01:2019-03-01", "UTC")
    assert [v.number for v in periods.covering(half, versions)] == [1, 2]
    later = periods.parse_period("2019-02", "UTC")
    assert periods.covering(later, versions) == []
    assert np.all(periods.in_force(np.array([np.iinfo(np.int64).min]), versions) == -1)
