"""Live-data throughput: the REST API's ingest and a HubSpot sync from the local fake server.

Usage: python benchmarks/bench_live_data.py [--leads N] [--touches N] [--contacts N]
           [--engagements N] [--postgres URL | --skip-postgres] [--skip-sync]

Per backend (a fresh SQLite file; a scratch PostgreSQL database `handoff_bench_live`, created
and dropped):
  1. API ingest: `python -m core.cli api serve` in its own process; the leads posted in batches
     of 5,000, then the touches in batches of 500 (what an automation tool posts every few
     seconds) and of 5,000, over real HTTP on loopback, one client at a time. Rows/s and the
     p50/p95 of a batch's round trip.
  2. HubSpot sync (tests/fakes/hubspot.py, in this process, 200 records a page): a first sync
     of the contacts and engagements, then a second after 1% of them changed. Rows/s (rows the
     sync read) and the share of the time the fake server spent answering (it runs in this
     process, on the same two cores).
"""

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def lead_rows(count: int, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00")
    mql = start + rng.integers(0, 300 * 86400, count).astype("timedelta64[s]")
    return [{"external_id": f"L{n}", "mql_at": f"{mql[n]}Z", "owner": f"rep{n % 20}",
             "channel": ("webinar", "paid_search", "social")[n % 3],
             "email": f"p{n}@example.com", "score": int(n % 100)} for n in range(count)]


def touch_rows(count: int, leads: list[dict], seed: int = 8) -> list[dict]:
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(leads), count)
    delay = rng.integers(60, 10 * 86400, count)
    rows = []
    for n in range(count):
        lead = leads[which[n]]
        at = np.datetime64(lead["mql_at"][:-1]) + np.timedelta64(int(delay[n]), "s")
        rows.append({"lead_external_id": lead["external_id"], "at": f"{at}Z",
                     "kind": ("call", "email", "meeting")[n % 3], "rep": lead["owner"],
                     "automated": bool(n % 4 == 0)})
    return rows


@contextmanager
def database(backend: str, postgres: str):
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/live.db"
        return
    server = make_url(postgres)
    name = "handoff_bench_live"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def cli(url: str, *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "core.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "DATABASE_URL": url}, check=True)
    return done.stdout.strip()


@contextmanager
def api_server(url: str, port: int = 8599):
    process = subprocess.Popen([PYTHON, "-m", "core.cli", "api", "serve", "--port", str(port)],
                               cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def post_batches(base: str, token: str, route: str, rows: list[dict], size: int) -> None:
    times, stored = [], 0
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=300,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for offset in range(0, len(rows), size):
            sent = time.perf_counter()
            batch = rows[offset:offset + size]
            answer = client.post(route, json={"source": "bench", "rows": batch})
            answer.raise_for_status()
            times.append(time.perf_counter() - sent)
            stored += answer.json()["inserted"]
    wall = time.perf_counter() - started
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    print(f"  POST {route:<18} {len(rows):>9,} rows in batches of {size:>5,}: {wall:7.2f} s, "
          f"{len(rows) / wall:>8,.0f} rows/s, batch p50 {statistics.median(times):.3f} s "
          f"p95 {p95:.3f} s; {stored:,} stored")


def bench_api(url: str, leads: int, touches: int) -> None:
    cli(url, "db", "upgrade")
    token = cli(url, "api", "token", "create", "bench", "--scope", "write")
    lead_batch = lead_rows(leads)
    touch_batch = touch_rows(touches, lead_batch)
    half = len(touch_batch) // 2
    with api_server(url) as base:
        post_batches(base, token, "/api/v1/leads", lead_batch, 5_000)
        post_batches(base, token, "/api/v1/touches", touch_batch[:half], 500)
        post_batches(base, token, "/api/v1/touches", touch_batch[half:], 5_000)


def bench_sync(url: str, contacts: int, engagements: int) -> None:
    from pytest_httpserver import HTTPServer

    from core import secret_box
    from core.services import OPERATOR, sync
    from db import migrate
    from db.engine import engine_for, session_scope
    from tests.fakes.hubspot import FakeHubSpot

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("HANDOFF_SECRET_KEY", secret_box.new_key())
    migrate.upgrade()
    engine = engine_for(url)

    def sessions():
        return session_scope(engine)

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    fake = FakeHubSpot(server, contacts=contacts, engagements=engagements)
    answer, served = fake._answer, [0.0]

    def timed_answer(request):  # the time the fake server spends answering
        started = time.perf_counter()
        try:
            return answer(request)
        finally:
            served[0] += time.perf_counter() - started

    fake._answer = timed_answer
    server.clear_all_handlers()
    server.expect_request(re.compile(".*")).respond_with_handler(timed_answer)
    try:
        with sessions() as session:
            sync.configure_connector(session=session, actor=OPERATOR, name="hubspot",
                                     settings=fake.settings(page_size=200),
                                     credentials=fake.private_app_credentials())
        for label in ("first sync", "second, 1% changed"):
            if label.startswith("second"):
                fake.change_contacts(max(1, contacts // 100))
                fake.change_engagements("calls", max(1, engagements // 250))
                fake.change_engagements("emails", max(1, engagements // 250))
            before = served[0]
            started = time.perf_counter()
            result = sync.run_sync("hubspot", sessions=sessions, force=True)
            wall = time.perf_counter() - started
            waiting = served[0] - before
            print(f"  HubSpot {label:<20} {result.read:>9,} rows read, {result.inserted:,} "
                  f"inserted, {result.updated:,} updated in {wall:6.2f} s: "
                  f"{result.read / wall:>8,.0f} rows/s ({waiting / wall:.0%} of it in the "
                  "fake server)")
    finally:
        server.stop()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--touches", type=int, default=150_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--engagements", type=int, default=60_000)
    parser.add_argument("--postgres", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sync", action="store_true")
    options = parser.parse_args()
    backends = ["sqlite"] + ([] if options.skip_postgres else ["postgresql"])
    for backend in backends:
        print(f"{backend}:")
        with database(backend, options.postgres) as url:
            bench_api(url, options.leads, options.touches)
        if not options.skip_sync:
            with database(backend, options.postgres) as url:
                bench_sync(url, options.contacts, options.engagements)


if __name__ == "__main__":
    main()
