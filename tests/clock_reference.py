"""The per-row reference clock the vectorized `core.calendar.Clock` is checked against (property
tests) and timed against (benchmarks/bench_compliance.py): window by window, one row at a time,
with zoneinfo. Deliberately simple so it is obviously right, and deliberately slow."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.calendar import WEEKDAYS, BusinessCalendar


def local_epoch(zone: ZoneInfo, wall: datetime) -> int:
    """Epoch seconds of a naive local wall time: a gap moves forward to the first valid instant
    (walking the wall clock second by second), an ambiguous time takes its first occurrence."""
    while True:
        instant = wall.replace(tzinfo=zone)
        if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            return int(instant.timestamp())
        wall += timedelta(seconds=1)


def minutes(text: str) -> timedelta:
    """"HH:MM" (or "24:00") as a time after midnight."""
    hours, minutes = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


class Reference:
    """A calendar's windows listed day by day as epoch-second pairs, answered row by row."""

    def __init__(self, calendar: BusinessCalendar, hours: dict, first: date, last: date) -> None:
        self.zone = ZoneInfo(calendar.timezone)
        self.by_day: dict[date, list[tuple[int, int]]] = {}
        day = first
        while day <= last:
            windows = []
            if calendar.closed_reason(day) is None:
                midnight = datetime.combine(day, time())
                for start, end in hours.get(WEEKDAYS[day.weekday()], []):
                    begin = local_epoch(self.zone, midnight + minutes(start))
                    finish = local_epoch(self.zone, midnight + minutes(end))
                    if finish > begin:
                        windows.append((begin, finish))
            self.by_day[day] = windows
            day += timedelta(days=1)
        self.windows = sorted(window for windows in self.by_day.values() for window in windows)

    def elapsed(self, start: int, stop: int) -> int:
        return sum(max(0, min(stop, end) - max(start, begin)) for begin, end in self.windows)

    def due(self, start: int, budget: int) -> int:
        if budget == 0:
            return start
        left = budget
        for begin, end in self.windows:
            counted_from = max(begin, start)
            if end <= counted_from:
                continue
            if left <= end - counted_from:
                return counted_from + left
            left -= end - counted_from
        raise AssertionError("reference ran out of windows")

    def due_days(self, start: int, days: int) -> int:
        opening = next(max(begin, start) for begin, end in self.windows if end > start)
        if days == 0:
            return opening
        wall = datetime.fromtimestamp(opening, self.zone).replace(tzinfo=None)
        day, found = wall.date(), 0
        while found < days:
            day += timedelta(days=1)
            found += bool(self.by_day[day])
        return local_epoch(self.zone, datetime.combine(day, wall.time()))
