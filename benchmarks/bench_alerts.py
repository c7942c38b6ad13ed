"""An alerts pass at scale: the worker runs one every minute, so its cost is the steady cost of
escalations. 1,000,000 leads of 2025 and 3,000,000 touches (bench_compliance.py's generator),
40 reps in two teams, both signed versions carrying the demo's ladder (warn the owner at risk,
tell the head at the breach, back to the team's pool 2 business days past due).

Usage: python benchmarks/bench_alerts.py [--leads N] [--touches N] [--postgres URL]

Each step is `python -m core.cli alerts run --as-of ... --format json` in a fresh process (wall
time and peak RSS, GNU time): the first pass of a day in September (its firings are capped at
500 a pass, the most urgent first; the morning digests of 40 reps), then a pass a minute later
(the backlog, then the few clocks that go at risk each minute) until one fires nothing: the
steady cost.
Mail goes nowhere (no HANDOFF_SMTP_URL): notices stay in the app, as without a mail server.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from core.demo import DEMO_ESCALATIONS as LADDER  # noqa: E402 - the demo's ladder

FIRST_PASS = datetime(2025, 9, 16, 14, 0)  # a Tuesday, 10:00 in New York (naive: UTC here)


def laddered(versions):
    from core import agreement as sla
    from core import periods

    result = []
    for version in versions:
        data = sla.to_dict(version.document)
        data["escalations"] = LADDER
        result.append(periods.InForce(version.number, sla.from_dict(data)))
    return result


def build(url: str, leads: int, touches: int) -> None:
    from bench_compliance import build_database, generate, versions

    os.environ["DATABASE_URL"] = url
    from core.services import OPERATOR, add_user
    from db.engine import get_session

    frames = generate(leads, touches)
    with get_session() as session:  # the reps first: the ladder's teams must exist
        from db import migrate
        migrate.upgrade()
        for number in range(40):
            add_user(session=session, actor=OPERATOR, username=f"rep{number:02d}",
                     display_name=f"Rep {number:02d}", email=f"rep{number:02d}@example.com",
                     role="sales_rep", password="bench-password",
                     team="Inbound East" if number % 2 else "Inbound West")
    build_database(url, *frames, laddered(versions()))


def alerts_pass(url: str, as_of: datetime) -> tuple[float, float, dict]:
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, sys.executable, "-m", "core.cli",
             "alerts", "run", "--as-of", as_of.isoformat() + "Z", "--format", "json"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=1200)
        seconds = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        return seconds, int(Path(rss.name).read_text().split()[-1]) / 1024, json.loads(
            done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=3_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL to use instead of a SQLite file")
    parser.add_argument("--keep", help="a folder to build the SQLite file in and keep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as scratch:
        folder = args.keep or scratch
        url = args.postgres or f"sqlite:///{folder}/alerts.db"
        os.environ["HANDOFF_WORKER_DB"] = f"{folder}/worker.db"
        started = time.perf_counter()
        build(url, args.leads, args.touches)
        print(f"setup: {args.leads:,} leads, {args.touches:,} touches, the ladder signed, in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        rows = []
        instants = [("first pass of the day", FIRST_PASS),
                    ("a minute later", FIRST_PASS + timedelta(minutes=1))]
        for label, instant in instants:
            seconds, rss, result = alerts_pass(url, instant)
            rows.append((label, seconds, rss, result))
        later = FIRST_PASS + timedelta(minutes=2)
        while True:  # work off the backlog, 500 a pass
            seconds, rss, result = alerts_pass(url, later)
            if not result["fired"]:
                rows.append(("a pass with nothing new to fire (steady state)", seconds, rss,
                             result))
                break
            rows.append((f"{later:%H:%M} UTC", seconds, rss, result))
            later += timedelta(minutes=1)
        print(f"\nrules fired in all: {sum(len(row[3]['fired']) for row in rows):,}")
        print("\n| pass | wall time | peak RSS | rules fired | digests |")
        print("|---|---|---|---|---|")
        for label, seconds, rss, result in rows:
            digests = sum(len(names) for names in result["digests"].values())
            print(f"| {label} | {seconds:.2f} s | {rss:,.0f} MB | {len(result['fired'])} | "
                  f"{digests} |")


if __name__ == "__main__":
    main()
