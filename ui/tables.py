"""Lead tables as people read them: names not usernames, labels not column names, times in the
agreement's zone, attributes as text. Downloads keep the raw columns (ids, ISO times, JSON)."""

from collections.abc import Mapping

import pandas as pd

from ui.text import field_label, words

HIDDEN = ("id", "source")  # the database's own keys
STAMPS = ("created_at", "mql_at", "accepted_at", "rejected_at", "sql_at", "opportunity_at",
          "won_at", "lost_at", "last_touch_at", "due", "at")


def readable_leads(frame: pd.DataFrame, names: Mapping[str, str], zone: str) -> pd.DataFrame:
    """The frame for the screen: `readable_values`, its columns named as people name them."""
    return readable_values(frame, names, zone).rename(columns=field_label)


def readable_values(frame: pd.DataFrame, names: Mapping[str, str], zone: str) -> pd.DataFrame:
    """The frame's values for the screen (its columns keep their names; the database's own keys
    go): people by name, reasons, states and channels as words, times in `zone` with its
    abbreviation ("–" where there is none), attributes as "key: value" text."""
    shown = frame.drop(columns=[c for c in HIDDEN if c in frame]).copy()
    for column in shown.columns:
        values = shown[column]
        if column in ("owner", "rep"):
            shown[column] = values.map(lambda who: names.get(who, who), na_action="ignore")
        elif column in ("rejection_reason", "state", "channel", "segment", "region"):
            shown[column] = values.map(words, na_action="ignore")
        elif column in STAMPS:
            shown[column] = local_times(values, zone)
        elif column == "attributes":
            shown[column] = values.map(_attributes_text, na_action="ignore")
    return shown


def local_times(values: pd.Series, zone: str, *, named: bool = True) -> pd.Series:
    """Instants as "2026-12-03 09:15 EST" in `zone` (`named` off: without the zone's
    abbreviation, for a column whose heading names it); "–" where there is none."""
    local = pd.to_datetime(values, utc=True).dt.tz_convert(zone)
    return local.dt.strftime("%Y-%m-%d %H:%M %Z" if named else "%Y-%m-%d %H:%M").where(
        local.notna(), "–")


def _attributes_text(attributes) -> str:
    if not isinstance(attributes, Mapping):
        return "" if attributes is None else str(attributes)
    return "; ".join(f"{words(key)}: {value}" for key, value in attributes.items())
