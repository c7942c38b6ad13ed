"""Import speed: 100,000 leads and 300,000 touches from generated CSV, into SQLite and PostgreSQL.

Usage: python benchmarks/bench_import.py [--leads N] [--touches N] [--postgres URL]
  --postgres defaults to $TEST_DATABASE_URL; a scratch database `handoff_bench` is created on
  that server and dropped afterwards. Prints wall time, rows/s and peak RSS per step.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHANNELS = ["organic_search", "paid_search", "social", "email", "events", "referral"]


def generate(leads: int, touches: int, seed: int = 11) -> tuple[bytes, bytes]:
    """A lead export and a touch export, as CSV bytes."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01")
    mql = start + pd.to_timedelta(rng.integers(0, 365 * 86400, leads), unit="s")
    ids = np.char.add("L", np.arange(leads).astype(str))
    lead_frame = pd.DataFrame({
        "id": ids,
        "created": (mql - pd.to_timedelta(rng.integers(0, 86400, leads), unit="s")).strftime(
            "%Y-%m-%d %H:%M:%S"),
        "mql": mql.strftime("%Y-%m-%d %H:%M:%S"),
        "owner": rng.choice([f"rep{i}" for i in range(20)], leads),
        "channel": rng.choice(CHANNELS, leads),
        "email": np.char.add(np.char.add("p", rng.integers(0, leads, leads).astype(str)),
                             "@example.com"),
        "score": rng.integers(0, 100, leads),
        "amount": rng.integers(1000, 90000, leads),
    })
    lead_of = rng.integers(0, leads, touches)
    at = mql[lead_of] + pd.to_timedelta(rng.integers(60, 10 * 86400, touches), unit="s")
    touch_frame = pd.DataFrame({
        "lead": ids[lead_of], "at": at.strftime("%Y-%m-%d %H:%M:%S"),
        "kind": rng.choice(["call", "email", "meeting"], touches),
        "rep": lead_frame["owner"].to_numpy()[lead_of],
        "automated": rng.choice(["false", "true"], touches, p=[0.7, 0.3]),
    })
    return lead_frame.to_csv(index=False).encode(), touch_frame.to_csv(index=False).encode()


LEAD_MAP = {"external_id": "id", "created_at": "created", "mql_at": "mql", "owner": "owner",
            "channel": "channel", "email": "email", "score": "score", "amount": "amount"}
TOUCH_MAP = {"lead_external_id": "lead", "at": "at", "kind": "kind", "rep": "rep",
             "automated": "automated"}


def timed(label: str, rows: int, step) -> None:
    started = time.perf_counter()
    summary = step()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {label:<38} {elapsed:7.2f} s  {rows / elapsed:>9,.0f} rows/s  peak RSS "
          f"{peak:5.0f} MB  (inserted {summary.inserted:,}, unchanged {summary.unchanged:,}, "
          f"rejected {summary.rejected:,})")


def run(url: str, leads_csv: bytes, touches_csv: bytes, leads: int, touches: int) -> None:
    """Migrate a fresh database at url, then import, re-import, and import touches."""
    from core.services import OPERATOR, imports
    from db import migrate
    from db.engine import get_session

    os.environ["DATABASE_URL"] = url
    migrate.upgrade()

    def leads_step():
        with get_session() as session:
            return imports.import_leads(session=session, actor=OPERATOR, data=leads_csv,
                                        filename="leads.csv", overrides=LEAD_MAP, tz="UTC",
                                        source="bench")

    def touches_step():
        with get_session() as session:
            return imports.import_touches(session=session, actor=OPERATOR, data=touches_csv,
                                          filename="touches.csv", overrides=TOUCH_MAP, tz="UTC",
                                          source="bench")

    timed(f"leads, first import ({leads:,})", leads, leads_step)
    timed(f"leads, same file again ({leads:,})", leads, leads_step)
    timed(f"touches ({touches:,})", touches, touches_step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--touches", type=int, default=300_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    leads_csv, touches_csv = generate(args.leads, args.touches)
    print(f"generated {len(leads_csv) / 1e6:.1f} MB of leads, {len(touches_csv) / 1e6:.1f} MB "
          "of touches")
    with tempfile.TemporaryDirectory() as workdir:
        print("SQLite (file, WAL)")
        run(f"sqlite:///{workdir}/bench.db", leads_csv, touches_csv, args.leads, args.touches)
    if args.postgres:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        server = make_url(args.postgres)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS handoff_bench WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE handoff_bench"))
        print("PostgreSQL")
        try:
            run(server.set(database="handoff_bench").render_as_string(hide_password=False),
                leads_csv, touches_csv, args.leads, args.touches)
        finally:
            from db.engine import get_engine

            get_engine().dispose()
            with admin.connect() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS handoff_bench WITH (FORCE)"))


if __name__ == "__main__":
    main()
