"""Dashboard speed at a million leads: the Compliance page rendered by Streamlit's AppTest.

Usage: python benchmarks/bench_dashboard.py [--database PATH] [--leads N] [--touches N]

Without --database, builds a SQLite file like bench_compliance.py's (1,000,000 leads of 2025,
3,000,000 touches, two signed versions); with it, reuses that file (or builds it there once).
Then, logged in as the head of sales and pinned to ?as_of=2025-09-30T12:00Z, it times:
  - the first render of the dashboard for a month and for a quarter (cold cache: read the
    period from the database, measure it and the period before, draw eight charts);
  - a cached render (the same page again: what every later visitor and every rerun pays);
  - a cached render after changing a filter back (each filter combination is cached too).
AppTest runs the real page script and serializes every element as the server would; the time a
browser takes to draw the Vega charts is not included.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_compliance import build_database, generate, versions  # noqa: E402

AS_OF = "2025-09-30T12:00:00+00:00"


def timed(label: str, step) -> None:
    started = time.perf_counter()
    at = step()
    seconds = time.perf_counter() - started
    assert not at.exception, at.exception
    charts = len(at.get("vega_lite_chart"))
    print(f"  {label:<58} {seconds:7.2f} s  ({charts} charts)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", type=Path)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=3_000_000)
    args = parser.parse_args()
    path = args.database or Path("/tmp/handoff-bench-dashboard.db")
    if not path.exists():
        started = time.perf_counter()
        leads, touches = generate(args.leads, args.touches)
        build_database(f"sqlite:///{path}", leads, touches, versions())
        print(f"built {path} ({args.leads:,} leads) in {time.perf_counter() - started:.0f} s")
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("HANDOFF_COOKIE_KEY", "b" * 64)

    from streamlit.testing.v1 import AppTest

    from core.services import get_actor
    from db.engine import get_session

    with get_session() as session:
        sofia = get_actor(session=session, username="sofia")
    at = AppTest.from_file(str(ROOT / "app_pages" / "dashboard.py"), default_timeout=900)
    at.session_state["authentication_status"] = True
    at.session_state["actor"] = sofia
    at.query_params["as_of"] = AS_OF

    print("Compliance page, head of sales, as of 2025-09-30 (AppTest)")
    timed("first render, 2025-09 (cold cache)", at.run)
    timed("cached render, 2025-09", at.run)
    timed("first render, 2025-Q3 (cold cache)",
          lambda: at.text_input(key="dash_period").set_value("2025-Q3").run())
    timed("cached render, 2025-Q3", at.run)
    timed("first render, 2025-Q3 filtered to channel = email",
          lambda: at.selectbox(key="dash_channel").set_value("email").run())
    timed("cached render, back to every channel",
          lambda: at.selectbox(key="dash_channel").set_value("All").run())


if __name__ == "__main__":
    main()
