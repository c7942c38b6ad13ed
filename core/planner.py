"""The goal planner (DESIGN §5, §6): from a revenue goal back to the MQLs it needs.

Pure domain code: pandas and numpy only. `history` measures the funnel of past quarters
(conversion rates with a Wilson 95% range, average won amount, MQL→won lag, each rep's share);
`plan` turns a revenue goal and those assumptions into the `plan --format json` object.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import limits, periods

__all__ = [
    "RATE_KEYS",
    "History",
    "PlanInputError",
    "RateEstimate",
    "assumptions",
    "history",
    "checked_quarter",
    "history_quarters",
    "parse_rates",
    "plan",
    "split_evenly",
    "split_by_share",
    "wilson",
]

RATE_KEYS = ("mql_sal", "sal_sql", "sql_won")
RATE_STAGES = {"mql_sal": ("mql", "sal"), "sal_sql": ("sal", "sql"), "sql_won": ("sql", "won")}
RATE_OPTIONS = {"mql_sal": "mql_sal=0.6", "sal_sql": "sal_sql=0.5", "sql_won": "sql_won=0.3"}
DAYS_PER_MONTH = 30.44
WILSON_Z = 1.959963984540054  # the 97.5th percentile of the standard normal: a 95% interval
_DAY_NS = 86_400 * 10**9


class PlanInputError(ValueError):
    """A planner input that cannot be used; `field` names it (quarter, revenue, rates, ...)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# --- quarters ------------------------------------------------------------------------------


def checked_quarter(text: str) -> str:
    """A quarter written the one way ("2018-Q3"); PlanInputError naming `quarter` otherwise."""
    try:
        return periods.normal_quarter(text)
    except ValueError as error:
        raise PlanInputError("quarter", str(error)) from None


def history_quarters(quarter: str, count: int, running: str) -> list[str]:
    """The `count` quarters before `quarter`, oldest first, that ended before `running` (the
    quarter holding now): a quarter still running has MQLs that had no time to convert yet, so
    it would drag the rates down."""
    last = min(periods.quarter_index(checked_quarter(quarter)), periods.quarter_index(running))
    return periods.previous_quarters(periods.quarter_at(last), count)


# --- history -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateEstimate:
    """A stage-to-stage conversion rate: `hits` of `sample` converted, with its Wilson range."""

    value: float | None
    hits: int
    sample: int
    low: float | None
    high: float | None

    @property
    def range(self) -> list[float] | None:
        """[low, high], or None without a sample."""
        return None if self.low is None else [self.low, self.high]


@dataclass(frozen=True)
class History:
    """What past quarters say about the funnel (the MQL cohorts of those quarters).

    `mql`, `sal`, `sql`, `won_cohort`: how many of the quarters' MQLs reached each stage;
    `won_deals`: leads won inside the quarters (whenever they were MQLs): the sample of
    `avg_won` (those with an amount: `avg_won_sample`), of the lag and of `rep_share`.
    """

    quarters: int
    mql: int = 0
    sal: int = 0
    sql: int = 0
    won_cohort: int = 0
    rates: dict[str, RateEstimate] = field(default_factory=dict)
    won_deals: int = 0
    avg_won: float | None = None
    avg_won_sample: int = 0
    median_days: float | None = None
    lag_sample: int = 0
    lag_months: int | None = None
    rep_share: dict[str, float] = field(default_factory=dict)
    share_basis: str = "won"  # "won" deals, or "mql" when the quarters had no won deal

    @property
    def sample(self) -> dict:
        """The plan's `sample` object."""
        return {"quarters": self.quarters, "mql": self.mql, "won": self.won_deals}

    @property
    def ranges(self) -> dict[str, list[float] | None]:
        """The plan's `ranges` object."""
        return {key: self.rates[key].range if key in self.rates else None for key in RATE_KEYS}

    def rate(self, key: str) -> float | None:
        """A historical rate, None without a sample."""
        return self.rates[key].value if key in self.rates else None


def wilson(hits: int, sample: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for an empty sample)."""
    if sample <= 0:
        return None
    share = min(hits, sample) / sample
    spread = z * z / sample
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / sample + spread / (4 * sample)) / (1 + spread)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ns(values: pd.Series) -> np.ndarray:
    """Epoch ns of a timestamp column (tz-aware UTC or naive UTC); NaT stays NaT's integer."""
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view("int64")


def _within(ns: np.ndarray, quarters: Iterable) -> np.ndarray:
    """Present instants inside any of the periods."""
    present = ns != np.iinfo(np.int64).min
    inside = np.zeros(ns.shape, dtype=bool)
    for period in quarters:
        start, end = pd.Timestamp(period.start).value, pd.Timestamp(period.end).value
        inside |= (ns >= start) & (ns < end)
    return present & inside


def _estimate(hits: int, sample: int) -> RateEstimate:
    """A rate estimate; SQLs that skipped SAL can outnumber SALs, so the rate is capped at 1."""
    hits = min(hits, sample)
    bounds = wilson(hits, sample)
    if bounds is None:
        return RateEstimate(None, hits, sample, None, None)
    return RateEstimate(round(hits / sample, 4), hits, sample, round(bounds[0], 4),
                        round(bounds[1], 4))


def history(leads: pd.DataFrame, quarters: list) -> History:
    """Measure the funnel of the MQL cohorts of `quarters` (Periods with UTC start and end).

    SAL mirrors core.compliance: accepted and not rejected after it (a tie counts as accepted).
    """
    if leads.empty or not quarters:
        return History(quarters=len(quarters))
    nat = np.iinfo(np.int64).min
    stamps = {name: _ns(leads[name]) for name in
              ("mql_at", "accepted_at", "rejected_at", "sql_at", "won_at")}
    cohort = _within(stamps["mql_at"], quarters)
    accepted, rejected = stamps["accepted_at"], stamps["rejected_at"]
    reached = {
        "mql": cohort,
        "sal": cohort & (accepted != nat) & ((rejected == nat) | (accepted >= rejected)),
        "sql": cohort & (stamps["sql_at"] != nat),
        "won": cohort & (stamps["won_at"] != nat),
    }
    counts = {stage: int(mask.sum()) for stage, mask in reached.items()}
    rates = {key: _estimate(counts[later], counts[earlier])
             for key, (earlier, later) in RATE_STAGES.items()}
    won = _within(stamps["won_at"], quarters)
    amounts = pd.to_numeric(leads["amount"], errors="coerce").to_numpy(dtype=float)
    priced = won & ~np.isnan(amounts)
    avg_won = round(float(amounts[priced].mean()), 2) if priced.any() else None
    lagged = won & (stamps["mql_at"] != nat) & (stamps["won_at"] >= stamps["mql_at"])
    median_days = None
    if lagged.any():
        gaps = (stamps["won_at"][lagged] - stamps["mql_at"][lagged]) / _DAY_NS
        median_days = round(float(np.median(gaps)), 2)
    share_basis = "won" if won.any() else "mql"
    return History(
        quarters=len(quarters), mql=counts["mql"], sal=counts["sal"], sql=counts["sql"],
        won_cohort=counts["won"], rates=rates, won_deals=int(won.sum()), avg_won=avg_won,
        avg_won_sample=int(priced.sum()), median_days=median_days, lag_sample=int(lagged.sum()),
        lag_months=None if median_days is None else int(round(median_days / DAYS_PER_MONTH)),
        rep_share=_shares(leads["owner"], won if won.any() else cohort),
        share_basis=share_basis,
    )


def _shares(owners: pd.Series, mask: np.ndarray) -> dict[str, float]:
    """Each owner's share of the masked leads, largest first (leads without an owner are left
    out: a plan has nobody to give them to)."""
    chosen = owners[mask]
    chosen = chosen[chosen.notna() & (chosen.astype(str).str.strip() != "")].astype(str)
    if chosen.empty:
        return {}
    counts = chosen.value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {owner: round(count / len(chosen), 4) for owner, count in ordered}


# --- assumptions ---------------------------------------------------------------------------


def _check_rate(key: str, value: object, source: str) -> float:
    """A rate from PLAN_RATE_MIN to 1, else PlanInputError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise PlanInputError("rates", f"{key} {source}{value!r} is not a number")
    if not limits.PLAN_RATE_MIN <= value <= 1:
        raise PlanInputError("rates", f"{key} {source}{value} must be from "
                                      f"{limits.PLAN_RATE_MIN} to 1")
    return float(value)


def assumptions(
    past: History, *, rates: Mapping[str, float] | None = None, avg_won: float | None = None,
    lag_months: int | None = None,
) -> tuple[dict[str, float], float, int]:
    """(rates, avg_won, lag_months): the caller's values where given, else the history's.

    PlanInputError names everything the history cannot supply (no sample, or a rate of 0);
    an unknown lag (no won deal with an MQL date) is taken as 0 months.
    """
    given = dict(rates or {})
    unknown = sorted(set(given) - set(RATE_KEYS))
    if unknown:
        raise PlanInputError("rates", f"unknown rate {', '.join(unknown)} "
                                      f"(use {', '.join(RATE_KEYS)})")
    chosen, missing = {}, []
    window = f"the last {past.quarters} quarter{'s' if past.quarters != 1 else ''}"
    for key in RATE_KEYS:
        if given.get(key) is not None:
            chosen[key] = _check_rate(key, given[key], "")
            continue
        estimate = past.rates.get(key)
        earlier, later = RATE_STAGES[key]
        if estimate is None or estimate.value is None:
            missing.append(f"{key} (no {earlier.upper()} among the MQLs of {window}; "
                           f"give it, e.g. {RATE_OPTIONS[key]})")
        elif estimate.value == 0:
            missing.append(f"{key} (0 of {estimate.sample} {earlier.upper()}s reached "
                           f"{later.upper()} in {window}; give it, e.g. {RATE_OPTIONS[key]})")
        else:
            chosen[key] = estimate.value
    if missing:
        raise PlanInputError("rates", "history cannot supply " + "; ".join(missing))
    if avg_won is None:
        if past.avg_won is None or past.avg_won <= 0:
            raise PlanInputError("avg_won", f"no won deal with an amount in {window}: "
                                            "give the average won amount")
        avg_won = past.avg_won
    lag = past.lag_months if lag_months is None else lag_months
    return chosen, avg_won, 0 if lag is None else lag


def parse_rates(items: Iterable[str]) -> dict[str, float]:
    """Read ["mql_sal=0.6", ...]; PlanInputError naming the bad item otherwise."""
    rates: dict[str, float] = {}
    for item in items:
        name, sep, text = (item or "").partition("=")
        name = name.strip()
        if not sep:
            raise PlanInputError("rate", f"{item!r} is not NAME=VALUE, such as mql_sal=0.6")
        if name not in RATE_KEYS:
            raise PlanInputError("rate", f"{item!r}: unknown rate {name!r} "
                                         f"(use {', '.join(RATE_KEYS)})")
        if name in rates:
            raise PlanInputError("rate", f"{item!r}: {name} is given twice")
        try:
            value = float(text)
        except ValueError:
            raise PlanInputError("rate", f"{item!r}: {text.strip()!r} is not a number") from None
        if not limits.PLAN_RATE_MIN <= value <= 1:  # also refuses nan
            raise PlanInputError("rate", f"{item!r}: a rate must be in [{limits.PLAN_RATE_MIN}"
                                         ", 1], such as 0.6")
        rates[name] = value
    return rates


# --- the plan ------------------------------------------------------------------------------


def _check_amount(name: str, value: object, at_least: float) -> None:
    """A finite amount above `at_least` (at least it, when it is not 0) and within MONEY_MAX."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PlanInputError(name, f"{value!r} must be a positive amount")
    if not at_least <= value <= limits.MONEY_MAX:  # also refuses inf
        raise PlanInputError(name, f"{value!r} must be from {at_least or 0:,} to "
                                   f"{limits.MONEY_MAX:,}")


def _ceil(value: float) -> int:
    """Round up, ignoring binary noise (300 / 0.3 is 1000.0000000000001 in floating point)."""
    return math.ceil(round(value, 9))


def _number(value: float) -> int | float:
    """A JSON-friendly amount: whole values as int, others rounded to 2 decimals."""
    value = float(value)
    return int(value) if value.is_integer() else round(value, 2)


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole parts that sum to it, the remainder to the earliest parts."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def split_by_share(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`total` split by shares in whole parts that sum to it (largest remainder method; ties go
    to the larger share, then to the name first in order)."""
    weight = sum(shares.values())
    if not shares or weight <= 0:
        return {}
    exact = {name: total * share / weight for name, share in shares.items()}
    parts = {name: math.floor(round(value, 9)) for name, value in exact.items()}
    left = total - sum(parts.values())
    order = sorted(shares, key=lambda name: (-(round(exact[name] - parts[name], 9)),
                                             -shares[name], name))
    for name in order[:left]:
        parts[name] += 1
    return parts


def plan(
    revenue: float, quarter: str, rates: Mapping[str, float], avg_won: float, lag_months: int,
    rep_share: Mapping[str, float], sample: Mapping[str, int],
    ranges: Mapping[str, list[float] | None] | None = None,
) -> dict:
    """The `plan --format json` object: the won deals, SQLs, SALs and MQLs a revenue goal needs
    (each stage the next one divided by its rate, rounded up), MQLs per month placed
    `lag_months` before the quarter's months, and per rep by `rep_share`."""
    checked_quarter(quarter)
    _check_amount("revenue", revenue, 0)
    _check_amount("avg_won", avg_won, limits.PLAN_AVG_WON_MIN)
    if isinstance(lag_months, bool) or not isinstance(lag_months, int) or lag_months < 0:
        raise PlanInputError("lag_months", f"{lag_months!r} must be a whole number ≥ 0")
    missing = [key for key in RATE_KEYS if key not in rates]
    if missing:
        raise PlanInputError("rates", f"missing {', '.join(missing)}")
    used = {key: _check_rate(key, rates[key], "") for key in RATE_KEYS}
    won = _ceil(revenue / avg_won)
    sql = _ceil(won / used["sql_won"])
    sal = _ceil(sql / used["sal_sql"])
    mql = _ceil(sal / used["mql_sal"])
    months = periods.quarter_months(quarter, shift=-lag_months)
    by_rep_mql = split_by_share(mql, rep_share)
    by_rep_won = split_by_share(won, rep_share)
    return {
        "quarter": quarter.strip().upper(),
        "revenue": _number(revenue),
        "avg_won": _number(avg_won),
        "rates": used,
        "required": {"won": won, "sql": sql, "sal": sal, "mql": mql},
        "by_month": [{"month": month, "mql": part}
                     for month, part in zip(months, split_evenly(mql, 3), strict=True)],
        "sample": {"quarters": int(sample.get("quarters", 0)), "mql": int(sample.get("mql", 0)),
                   "won": int(sample.get("won", 0))},
        "lag_months": lag_months,
        "ranges": {key: (list((ranges or {}).get(key)) if (ranges or {}).get(key) else None)
                   for key in RATE_KEYS},
        "by_rep": [{"rep": rep, "share": round(rep_share[rep], 4), "mql": by_rep_mql[rep],
                    "won": by_rep_won[rep]} for rep in by_rep_mql],
        "monthly_volume_target": _ceil(mql / 3),
    }
