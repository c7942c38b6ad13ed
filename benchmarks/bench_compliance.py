"""Compliance speed: 1,000,000 leads, 3,000,000 touches, two calendar versions (DESIGN §4–§5).

Usage: python benchmarks/bench_compliance.py [--leads N] [--touches N] [--sample N] [--skip-db]

Version 1 (2025): New York, Mon–Fri 09:00–17:00, US holidays, first touch in 4 h.
Version 2 (from 2025-08-15, signed later): Mon–Fri 08:00–18:00 plus an overnight desk
22:00–06:00 (Mon night to Sat morning), first touch in 2 h. Every lead is measured against the
version in force when its clock started, so the year report uses both.

Prints wall time and peak memory for:
  1. the clocks alone (elapsed and due for every lead, per calendar version);
  2. the per-row reference (tests/clock_reference.py) on a sample, and the speed ratio;
  3. the full report from DataFrames (a quarter spanning the amendment, and the whole year);
  4. the full report from a SQLite database, through the reports service.
Time and memory come from separate runs: the memory figure is tracemalloc's peak of the step
(numpy and pandas report their buffers to it), measured in a second run so tracing does not slow
the timed one.
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import agreement as sla  # noqa: E402
from core import compliance, periods  # noqa: E402
from core.calendar import Clock, instants_ns  # noqa: E402

YEAR = pd.Timestamp("2025-01-01 05:00", tz="UTC")  # midnight in New York
CHANNELS = ["organic_search", "paid_search", "social", "email", "events", "referral"]
SEGMENTS = ["smb", "mid_market", "enterprise"]
REGIONS = ["na", "emea", "apac", "latam"]
REASONS = ["not_a_fit", "no_budget", "duplicate", "bad_contact_data"]
HOUR = 3600


def versions() -> list[periods.InForce]:
    """The two signed versions, in signing order."""
    first = sla.template(title="Bench SLA 2025", start=date(2025, 1, 1), end=date(2026, 1, 1))
    data = sla.to_dict(first)
    data["calendar"]["holidays"] = {"country": "US"}
    first = sla.from_dict(data)
    data = sla.to_dict(first)
    data["effective"]["start"] = date(2025, 8, 15)
    day, night_end, night_start = [["08:00", "18:00"]], ["00:00", "06:00"], ["22:00", "24:00"]
    data["calendar"]["hours"] = {
        "mon": [*day, night_start], "tue": [night_end, *day, night_start],
        "wed": [night_end, *day, night_start], "thu": [night_end, *day, night_start],
        "fri": [night_end, *day, night_start], "sat": [night_end],
    }
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = "2h"
    return [periods.InForce(1, first), periods.InForce(2, sla.from_dict(data))]


def generate(leads: int, touches: int, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads of 2025 with the compliance input columns, and touches on them."""
    rng = np.random.default_rng(seed)
    mql = YEAR.value + rng.integers(0, 365 * 86400, leads) * 10**9

    def later(base: np.ndarray, share: float, max_hours: float) -> np.ndarray:
        """For `share` of the rows, base + up to max_hours; NaT elsewhere."""
        gap = (rng.random(leads) * max_hours * HOUR * 10**9).astype(np.int64)
        return np.where(rng.random(leads) < share, base + gap, np.iinfo(np.int64).min)

    def stamps(ns: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(np.where(ns == np.iinfo(np.int64).min, None, ns),
                                        utc=True))

    accepted = later(mql, 0.7, 72)
    rejected = np.where(accepted == np.iinfo(np.int64).min, later(mql, 0.5, 72),
                        np.iinfo(np.int64).min)
    sql_at = np.where(accepted != np.iinfo(np.int64).min, later(accepted, 0.4, 24 * 20),
                      np.iinfo(np.int64).min)
    opportunity = np.where(sql_at != np.iinfo(np.int64).min, later(sql_at, 0.6, 24 * 10),
                           np.iinfo(np.int64).min)
    won = np.where(opportunity != np.iinfo(np.int64).min, later(opportunity, 0.35, 24 * 30),
                   np.iinfo(np.int64).min)
    owners = np.array([f"rep{i:02d}" for i in range(40)])
    frame = pd.DataFrame({
        "id": np.arange(1, leads + 1),
        "source": "bench",
        "external_id": np.char.add("B", np.arange(leads).astype(str)),
        "created_at": stamps(mql - rng.integers(0, 86400, leads) * 10**9),
        "mql_at": stamps(mql),
        "accepted_at": stamps(accepted),
        "rejected_at": stamps(rejected),
        "rejection_reason": np.where(rejected != np.iinfo(np.int64).min,
                                     rng.choice(REASONS, leads), None),
        "sql_at": stamps(sql_at),
        "opportunity_at": stamps(opportunity),
        "won_at": stamps(won),
        "lost_at": stamps(np.full(leads, np.iinfo(np.int64).min)),
        "owner": owners[rng.integers(0, len(owners), leads)],
        "channel": rng.choice(CHANNELS, leads),
        "segment": rng.choice(SEGMENTS, leads),
        "region": rng.choice(REGIONS, leads),
        "country": "US",
        "company": np.char.add("Company ", rng.integers(0, leads // 3 + 1, leads).astype(str)),
        "name": None,
        "email": np.char.add(np.char.add("p", np.arange(leads).astype(str)), "@example.com"),
        "score": rng.integers(20, 100, leads).astype(float),
        "amount": np.where(won != np.iinfo(np.int64).min,
                           rng.integers(2000, 60000, leads), np.nan).astype(float),
        "recycled": rng.random(leads) < 0.03,
        "attributes": [{}] * leads,
        "disputed": False,
    })
    lead_of = rng.integers(0, leads, touches)
    at = mql[lead_of] + (rng.exponential(30 * HOUR, touches) * 10**9).astype(np.int64)
    touch_frame = pd.DataFrame({
        "lead_id": lead_of + 1,
        "at": pd.to_datetime(at, utc=True),
        "kind": rng.choice(["call", "email", "meeting"], touches),
        "rep": frame["owner"].to_numpy()[lead_of],
        "automated": rng.random(touches) < 0.3,
    })
    return frame, touch_frame


def measure(label: str, step, *, per_million: int | None = None) -> tuple[float, object]:
    """Run the step twice (timed, then traced) and print time and peak memory."""
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scaled = f"  ({seconds / per_million * 1e6:.2f} s per million)" if per_million else ""
    print(f"  {label:<52} {seconds:7.2f} s  peak {peak / 2**20:6.0f} MB{scaled}", flush=True)
    return seconds, result


def clocks_alone(leads: pd.DataFrame, touches: pd.DataFrame, governing: list) -> dict:
    """Elapsed (MQL to first touch or as_of) and due (the 4 h budget) for every lead, per
    calendar version; returns seconds per lead per version for the ratio."""
    starts = instants_ns(leads["mql_at"])
    first_touch = touches.groupby("lead_id")["at"].min()
    stops = instants_ns(leads["id"].map(first_touch))
    end = YEAR + pd.Timedelta(days=400)
    stops = np.where(stops == np.iinfo(np.int64).min, end.value - 86400 * 10**9, stops)
    per_lead = {}
    for version in governing:
        clock = Clock(sla.business_calendar(version.document), YEAR - pd.Timedelta(days=2), end)
        label = f"v{version.number} ({'overnight' if version.number == 2 else 'office hours'})"
        elapsed_s, _ = measure(f"elapsed, {len(leads):,} leads, {label}",
                               lambda c=clock: c.elapsed(starts, stops), per_million=len(leads))
        due_s, _ = measure(f"due (4 h), {len(leads):,} leads, {label}",
                           lambda c=clock: c.due(starts, 4 * HOUR), per_million=len(leads))
        per_lead[version.number] = (elapsed_s + due_s) / len(leads), clock, starts, stops
    return per_lead


def reference_ratio(per_lead: dict, governing: list, sample: int) -> None:
    """The per-row reference on a sample, checked equal, and how much slower it is."""
    from tests.clock_reference import Reference

    for version in governing:
        vectorized, clock, starts, stops = per_lead[version.number]
        calendar = sla.business_calendar(version.document)
        reference = Reference(calendar, version.document.calendar.hours, date(2024, 12, 25),
                              date(2026, 3, 1))
        begin = (starts[:sample] // 10**9).tolist()
        finish = (stops[:sample] // 10**9).tolist()
        started = time.perf_counter()
        elapsed = [reference.elapsed(a, b) for a, b in zip(begin, finish, strict=True)]
        due = [reference.due(a, 4 * HOUR) for a in begin]
        seconds = time.perf_counter() - started
        assert elapsed == clock.elapsed(starts[:sample], stops[:sample]).tolist()
        assert [d * 10**9 for d in due] == clock.due(starts[:sample], 4 * HOUR).tolist()
        ratio = seconds / sample / vectorized
        print(f"  per-row reference, v{version.number}, {sample:,} leads (elapsed + due)"
              f"{'':<6} {seconds:7.2f} s  = {seconds / sample * 1e6:.0f} µs per lead; "
              f"vectorized {vectorized * 1e9:.0f} ns per lead: {ratio:,.0f}× faster "
              "(same answers)", flush=True)


def report_from_frames(leads: pd.DataFrame, touches: pd.DataFrame, governing: list) -> None:
    as_of = pd.Timestamp("2026-02-01", tz="UTC")
    for text in ("2025-Q3", "2025-01-01:2026-01-01"):
        period = periods.parse_period(text, "America/New_York")
        measured = compliance.report(governing[0].document, leads, touches, period, as_of,
                                     versions=governing)
        count = measured["funnel"]["mql"]
        measure(f"report {text} from DataFrames ({count:,} MQLs)",
                lambda p=period: compliance.report(governing[0].document, leads, touches, p,
                                                   as_of, versions=governing))
    measure("  the same year, broken down by rep (40 groups)",
            lambda: compliance.report(governing[0].document, leads, touches, period, as_of,
                                      versions=governing, by="rep"))


def build_database(url: str, leads: pd.DataFrame, touches: pd.DataFrame,
                   governing: list) -> None:
    """Migrate a fresh database at url, bulk-load the frames, and sign both versions through
    the services (users marco, sofia and erin; password "bench-password")."""
    os.environ.setdefault("HANDOFF_BCRYPT_ROUNDS", "4")
    os.environ["DATABASE_URL"] = url
    from core.services import OPERATOR, add_user, get_actor
    from db import migrate
    from db.bulk import insert_frame
    from db.engine import get_session
    from db.models import Lead, Touch
    from tests.sla_helpers import activate

    migrate.upgrade()
    with get_session() as session:
        insert_frame(session, Lead.__table__, leads.drop(columns=["id", "disputed"]))
        insert_frame(session, Touch.__table__, touches)
        for username, role in (("marco", "marketing_head"), ("sofia", "sales_head"),
                               ("erin", "exec")):
            add_user(session=session, actor=OPERATOR, username=username,
                     display_name=username.title(), email=f"{username}@example.com", role=role,
                     password="bench-password")
        people = {name: get_actor(session=session, username=name)
                  for name in ("marco", "sofia", "erin")}
        first = activate(session, people, governing[0].document)
        activate(session, people, governing[1].document, first.agreement_id)


def report_from_database(leads: pd.DataFrame, touches: pd.DataFrame, governing: list) -> None:
    """Load the frames into a fresh SQLite file, sign both versions, report via the service."""
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        build_database(f"sqlite:///{workdir}/bench.db", leads, touches, governing)
        print(f"  (setup: {len(leads):,} leads and {len(touches):,} touches into SQLite in "
              f"{time.perf_counter() - started:.0f} s, "
              f"{Path(workdir, 'bench.db').stat().st_size / 2**20:,.0f} MB)", flush=True)
        from core.services import OPERATOR, measurement
        from db.engine import get_engine, get_session

        def run(period: str) -> dict:
            with get_session() as session:
                scope = measurement.scope(session=session, actor=OPERATOR, period=period,
                                             as_of="2026-02-01")
                return measurement.report(session=session, actor=OPERATOR, scope=scope)

        for period in ("2025-09", "2025-Q3", "2025-01-01:2026-01-01"):
            count = run(period)["funnel"]["mql"]
            measure(f"report {period} from SQLite ({count:,} MQLs)", lambda p=period: run(p))
        get_engine().dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=3_000_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    leads, touches = generate(args.leads, args.touches)
    governing = versions()
    print(f"generated {len(leads):,} leads and {len(touches):,} touches in "
          f"{time.perf_counter() - started:.1f} s")
    print("1. Clocks alone (vectorized core.calendar.Clock)")
    per_lead = clocks_alone(leads, touches, governing)
    print("2. Per-row reference (tests/clock_reference.py)")
    reference_ratio(per_lead, governing, args.sample)
    print("3. Full report from DataFrames (core.compliance.report, both versions)")
    report_from_frames(leads, touches, governing)
    if not args.skip_db:
        print("4. Full report from the database (SQLite file, reports service)")
        report_from_database(leads, touches, governing)


if __name__ == "__main__":
    main()
