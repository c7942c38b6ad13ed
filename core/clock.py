"""The one source of "now". HANDOFF_NOW moves it, for tests and demos on any day of the year.

`HANDOFF_NOW=2027-01-01T09:00:00Z` makes the clock read that instant when it is first asked,
and run on from there in real time. The first reading anchors the setting
(`2027-01-01T09:00:00Z@1764630000.0`, the real epoch second it was read at) in this process's
environment, so the processes it starts (the app server of a browser test, a CLI run) read the
same clock.
"""

import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

ENV = "HANDOFF_NOW"


def now() -> datetime:
    """The current instant, timezone-aware in UTC (moved by HANDOFF_NOW)."""
    return datetime.now(UTC) + _offset()


def today(zone: str | ZoneInfo = "UTC") -> date:
    """Today's date in a zone."""
    return now().astimezone(ZoneInfo(str(zone))).date()


def _offset() -> timedelta:
    setting = os.environ.get(ENV, "").strip()
    if not setting:
        return timedelta(0)
    instant, _, anchor = setting.partition("@")
    if not anchor:
        anchor = repr(time.time())
        os.environ[ENV] = f"{instant}@{anchor}"
    moved_to = _parse(instant)
    read_at = datetime.fromtimestamp(float(anchor), UTC)
    return moved_to - read_at


def _parse(instant: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{ENV}={instant!r} is not an ISO 8601 instant, e.g. "
                         "2027-01-01T09:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
