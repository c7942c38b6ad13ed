"""No chart ships more than 5,000 rows to the browser, even for a million leads (DESIGN §9)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core import dashboard
from core.agreement import template
from core.compliance import evaluate
from core.periods import parse_period
from ui import charts

LEADS = 1_000_000
YEAR = pd.Timestamp("2025-01-01", tz="UTC")


def stamps(ns: np.ndarray, present: np.ndarray) -> pd.Series:
    """Aware UTC timestamps, NaT where not present."""
    return pd.Series(pd.to_datetime(np.where(present, ns, np.iinfo(np.int64).min)
                                    .astype("datetime64[ns]"), utc=True))


@pytest.fixture(scope="module")
def million():
    """A year of one million leads (400 reps, 6 channels) and a million touches, measured."""
    rng = np.random.default_rng(3)
    mql = YEAR.value + rng.integers(0, 365 * 86_400, LEADS) * 10**9
    later = mql + rng.integers(60, 5 * 86_400, LEADS) * 10**9
    decided = rng.random(LEADS)
    leads = pd.DataFrame({
        "id": np.arange(1, LEADS + 1), "source": "gen",
        "external_id": np.char.add("G", np.arange(LEADS).astype(str)),
        "created_at": stamps(mql, np.ones(LEADS, bool)),
        "mql_at": stamps(mql, np.ones(LEADS, bool)),
        "accepted_at": stamps(later, decided < 0.6), "rejected_at": stamps(later, decided > 0.9),
        "rejection_reason": np.where(decided > 0.9, rng.choice(["not_a_fit", "duplicate"], LEADS),
                                     None),
        "sql_at": stamps(later, decided < 0.2), "opportunity_at": stamps(later, decided < 0.1),
        "won_at": stamps(later, decided < 0.05), "lost_at": stamps(later, np.zeros(LEADS, bool)),
        "owner": np.char.add("rep", rng.integers(0, 400, LEADS).astype(str)),
        "channel": rng.choice(["organic", "paid", "social", "email", "events", "referral"], LEADS),
        "segment": None, "region": None, "country": None, "company": None, "name": None,
        "email": None, "score": rng.integers(0, 100, LEADS).astype(float),
        "amount": np.where(decided < 0.05, 5000.0, np.nan), "recycled": False,
        "attributes": [{}] * LEADS, "disputed": False,
    })
    lead_of = rng.integers(0, LEADS, LEADS)
    touches = pd.DataFrame({
        "lead_id": lead_of + 1,
        "at": pd.to_datetime(mql[lead_of] + rng.integers(60, 3 * 86_400, LEADS) * 10**9, utc=True),
        "kind": "call", "rep": "x", "automated": rng.random(LEADS) < 0.3,
    })
    document = template(title="Year", start=date(2025, 1, 1), end=date(2026, 1, 1),
                        timezone="UTC")
    period = parse_period("2025-01-01:2026-01-01", "UTC")
    return evaluate(document, leads, touches, period, pd.Timestamp("2026-01-15", tz="UTC"))


def test_every_chart_of_a_million_leads_ships_at_most_5000_rows(million):
    report = million.report()
    assert report["funnel"]["mql"] == LEADS
    built = {
        "volume": charts.volume_chart(dashboard.cumulative_volume(million)),
        "weekly": charts.weekly_chart(dashboard.weekly_compliance(million), "first-touch"),
        "distribution": charts.distribution_chart(
            dashboard.response_distribution(million, "first-touch")),
        "heatmap": charts.heatmap_chart(dashboard.rep_week_heatmap(million, "first-touch"), 90),
        "funnel": charts.funnel_chart(dashboard.funnel(report)),
        "reasons": charts.reasons_chart(dashboard.rejection_reasons(report)),
        "conformance": charts.conformance_chart(dashboard.conformance(million)),
        "goals": charts.goals_chart(dashboard.goal_progress(report)),
    }
    rows = {name: charts.chart_rows(chart) for name, chart in built.items()}
    assert all(0 < count <= dashboard.MAX_CHART_ROWS for count in rows.values()), rows
    # 400 reps × 53 weeks would be 21,200 cells: the heatmap keeps the busiest reps.
    assert rows["heatmap"] > 4_000
