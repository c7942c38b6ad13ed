"""The team under a Monday morning: locust's simulated people against the team deployment
(deploy.team: app replicas and workers over PostgreSQL and Redis behind HAProxy): with one
replica (the comparison), with two, and with two of which one is killed half-way.

Usage: python benchmarks/bench_team_load.py [--runs 1,2,2k] [--users 60] [--minutes 5]
           [--leads 100000] [--reps 40] [--kill-at 0.5] [--postgres URL] [--redis URL]
           [--out DIR]

Setup (timed apart): a fresh PostgreSQL database (default bench_team) with the demo workspace of
--leads leads, and --reps reps in all (the demo's six and more in its two teams, the leads of the
year dealt round robin between them; the seed runs before any replica starts); a write API token;
a local HubSpot (tests/fakes/hubspot.py, HubSpot's documented CRM v3 API on a local port) the
connector syncs from every minute, with 20 new contacts and 40 new calls added every 30 s.

Each run: the team with N replicas and two workers, then locust (benchmarks/load/locustfile.py,
headless, --users over the first 30 s, for --minutes; every user bounded in actions too): reps
open their worklist and log a touch through the real form, heads open the dashboard, a lead
page and home, the exec opens the review, an API client posts a batch of 500 touches every 30 s.
Streamlit pages are driven over Streamlit's own websocket protocol (benchmarks/load/
streamlit_client.py), not by browsers. In a run marked k, replica 2's app and API processes get
SIGKILL at --kill-at of the run (half-way); its users reconnect through the proxy.

Printed per run: per action the count, failures, p50/p95/p99 and throughput; reconnects; the
CPU (share of one core, averaged over the run) and peak memory of every process; and the write
check: every touch the load was told was stored is in the database exactly once (by its note),
and every API touch too. Exit status 1 when a write was lost or doubled in any run, or a request
failed in a run of two or more replicas (one replica is the comparison: its failures are shown).
"""

import argparse
import csv
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_httpserver import HTTPServer  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from deploy.team import Team, TeamConfig, ensure_database  # noqa: E402
from tests.fakes.hubspot import FakeHubSpot  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local HubSpot's request lines

TEAMS = ("Inbound East", "Inbound West")
HEADS = ("sofia", "marco")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def run(command: list[str], env: dict[str, str], timeout: float = 3600) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def cli(env: dict[str, str], *args: str) -> str:
    return run([sys.executable, "-m", "core.cli", *args], env)


# --- setup --------------------------------------------------------------------------------------


def build_workspace(database_url: str, leads: int, reps: int, env: dict[str, str]) -> list[str]:
    """A fresh database with the demo, `reps` reps in all and the leads dealt between them;
    the reps' usernames."""
    ensure_database(database_url)
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    cli(env, "db", "upgrade")
    cli(env, "demo", "seed", "--leads", str(leads))
    with engine.connect() as connection:
        demo_reps = [row[0] for row in connection.execute(text(
            "SELECT username FROM users WHERE role = 'sales_rep' ORDER BY username"))]
    names = demo_reps + [f"rep{n:02d}" for n in range(len(demo_reps) + 1, reps + 1)]
    from core import services
    from db.engine import get_session

    with get_session() as session:
        for number, name in enumerate(names[len(demo_reps):]):
            services.add_user(session=session, actor=services.OPERATOR, username=name,
                              display_name=f"Load Rep {name[3:]}", email=f"{name}@load.test",
                              role="sales_rep", password=secrets.token_urlsafe(16),
                              team=TEAMS[number % 2])
    with engine.connect() as connection:
        # Deal the leads between every rep (setup, before any process reads them).
        connection.execute(text(
            "UPDATE leads SET owner = (CAST(:names AS text[]))[1 + (id % :count)] "
            "WHERE owner IS NOT NULL"),
            {"names": names, "count": len(names)})
        connection.execute(text("UPDATE data_changes SET epoch = epoch + 1"))
    engine.dispose()
    return names


def load_inputs(database_url: str) -> tuple[list[int], list[str]]:
    """Lead ids for the heads' lead pages (the newest), and source:external_id of the oldest leads
    for the API batches (on nobody's worklist: the reps' cards are theirs to work)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        ids = [row[0] for row in connection.execute(text(
            "SELECT id FROM leads ORDER BY mql_at DESC NULLS LAST LIMIT 200"))]
        refs = [f"{row[0]}:{row[1]}" for row in connection.execute(text(
            "SELECT source, external_id FROM leads WHERE mql_at IS NOT NULL "
            "ORDER BY mql_at LIMIT 2000"))]  # old leads: on no worklist
    engine.dispose()
    return ids, refs


class LiveCrm:
    """The local HubSpot the connector syncs from, changing every 30 s as a real CRM would."""

    def __init__(self):
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()
        self.fake = FakeHubSpot(self.server, contacts=300, engagements=600)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._change, daemon=True)

    def _change(self) -> None:
        while not self.stop.wait(30):
            now = datetime.now(UTC)
            with self.fake.lock:
                for _ in range(20):
                    contact = self.fake.add_contact(mql_at=now - timedelta(minutes=5))
                    for minutes in (1, 3):
                        self.fake.add_call(contact, at=now - timedelta(minutes=minutes))

    def connect(self) -> None:
        """Configure the connector (every minute) and start changing the CRM."""
        from core.services import OPERATOR
        from core.services.sync import configure_connector
        from db.engine import get_session

        with get_session() as session:
            configure_connector(session=session, actor=OPERATOR, name="hubspot",
                                settings=self.fake.settings(page_size=100, every_minutes=1),
                                credentials=self.fake.private_app_credentials())
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.server.stop()


# --- measuring processes -----------------------------------------------------------------------


class Sampler:
    """CPU time and resident memory of named processes, read from /proc every 2 s."""

    def __init__(self, pids: dict[str, int]):
        self.pids = dict(pids)
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.peak_mb: Counter = Counter()
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while True:
            for name, pid in list(self.pids.items()):
                cpu, rss = _proc(pid)
                if cpu is None:
                    continue
                self.first.setdefault(name, cpu)
                self.last[name] = cpu
                self.peak_mb[name] = max(self.peak_mb[name], rss)
            if self.stop.wait(2):
                return

    def finish(self) -> list[tuple[str, float, float]]:
        """(process, CPU as a share of one core over the run, peak RSS MB)."""
        self.stop.set()
        self.thread.join()
        wall = time.monotonic() - self.started
        return [(name, 100 * (self.last[name] - self.first[name]) / wall, self.peak_mb[name])
                for name in self.pids if name in self.last]


def _proc(pid: int) -> tuple[float | None, float]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None, 0.0
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime
    return cpu, rss_pages * PAGE_SIZE / 2**20


def service_pids() -> dict[str, int]:
    """PostgreSQL's and Redis's server processes (PostgreSQL's backends are summed as one)."""
    found = {}
    for name in ("redis-server",):
        out = subprocess.run(["pgrep", "-o", name], capture_output=True, text=True).stdout
        if out.strip():
            found[name] = int(out.split()[0])
    return found


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (every process, PostgreSQL's short-lived
    backends included), from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


# --- the runs ----------------------------------------------------------------------------------


def one_run(args, replicas: int, kill: bool, reps: list[str], env: dict[str, str],
            crm: LiveCrm, token: str, lead_ids: list[int], api_leads: list[str],
            out: Path) -> dict:
    run_id = f"r{replicas}{'k' if kill else ''}-{secrets.token_hex(3)}"
    folder = out / run_id
    folder.mkdir(parents=True)
    config = TeamConfig(database_url=args.postgres, redis_url=args.redis, replicas=replicas,
                        workers=2, port=0, state_dir=folder / "team",
                        env={key: env[key] for key in ("HANDOFF_COOKIE_KEY", "HANDOFF_SECRET_KEY",
                                                       "HANDOFF_WORKER_NAME")})
    with Team(config) as team:
        sampler = Sampler(team.pids() | service_pids())
        cpu_before, started = machine_cpu(), time.monotonic()
        load_env = {**env, "HANDOFF_LOAD_REPS": ",".join(reps), "HANDOFF_LOAD_RUN": run_id,
                    "HANDOFF_LOAD_OUT": str(folder), "HANDOFF_LOAD_API_TOKEN": token,
                    "HANDOFF_LOAD_LEAD_IDS": ",".join(map(str, lead_ids)),
                    "HANDOFF_LOAD_API_LEADS": str(_written(folder / "api-leads.txt", api_leads)),
                    "HANDOFF_LOAD_HEADS": ",".join(HEADS)}
        locust = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", "benchmarks/load/locustfile.py", "--headless",
             "--host", team.url, "-u", str(args.users), "-r", str(max(1, args.users // 30)),
             "-t", f"{int(args.minutes * 60)}s", "--stop-timeout", "30", "--csv",
             str(folder / "locust"), "--only-summary"],
            cwd=ROOT, env=load_env, stdout=(folder / "locust.log").open("w"),
            stderr=subprocess.STDOUT)
        sampler.add("locust", locust.pid)
        sampler.start()
        killed_at = None
        if kill:
            deadline = started + args.kill_at * args.minutes * 60
            while time.monotonic() < deadline and locust.poll() is None:
                time.sleep(1)
            if locust.poll() is None:
                team.kill_replica(2)
                killed_at = time.monotonic() - started
                print(f"  killed replica 2 (app2, api2) at {killed_at:.0f} s", flush=True)
        locust.wait(timeout=args.minutes * 60 + 300)
        wall = time.monotonic() - started
        machine = 100 * (machine_cpu() - cpu_before) / wall
        processes = sampler.finish() + [("the whole machine (of 200)", machine, 0.0)]
    return {"run": run_id, "replicas": replicas, "kill": kill, "killed_at": killed_at,
            "wall": wall,
            "stats": read_stats(folder / "locust_stats.csv"), "processes": processes,
            "writes": check_writes(args.postgres, run_id, folder),
            "locust_exit": locust.returncode}


def read_stats(path: Path) -> list[dict]:
    with path.open() as file:
        return [row for row in csv.DictReader(file)]


def check_writes(database_url: str, run_id: str, folder: Path) -> dict:
    """Every touch the load was told was stored is in the database exactly once."""
    told: Counter = Counter()
    for record in folder.glob("touches-*.jsonl"):
        for line in record.read_text().splitlines():
            if line.strip():
                told[json.loads(line)["note"]] += 1
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = Counter(dict(connection.execute(text(
            "SELECT note, count(*) FROM touches WHERE note LIKE :run GROUP BY note"),
            {"run": f"load:{run_id}:%"}).all()))
    engine.dispose()
    return {"told": sum(told.values()), "stored": sum(stored.values()),
            "lost": sorted(note for note in told if stored[note] == 0),
            "doubled": sorted(note for note, count in stored.items() if count > 1),
            "told_twice": sorted(note for note, count in told.items() if count > 1),
            "stored_not_told": sum(1 for note in stored if note not in told)}


def report(result: dict) -> bool:
    """Print a run's figures; True when it had no failure and lost or doubled nothing."""
    title = f"{result['replicas']} replica{'s' if result['replicas'] > 1 else ''}"
    if result["killed_at"] is not None:
        title += f", replica 2 killed at {result['killed_at']:.0f} s"
    print(f"\n### {title} ({result['wall']:.0f} s, run {result['run']})\n")
    print("| action | requests | failures | p50 ms | p95 ms | p99 ms | per s |")
    print("|---|---|---|---|---|---|---|")
    failures = 0
    for row in result["stats"]:
        name = row["Name"] if row["Type"] else "all"
        if row["Name"] == "Aggregated":
            name = "**all**"
        else:
            failures += int(row["Failure Count"])
        print(f"| {row['Type']} {name} | {row['Request Count']} | {row['Failure Count']} | "
              f"{row['50%']} | {row['95%']} | {row['99%']} | {float(row['Requests/s']):.2f} |")
    print("\n| process | CPU (% of one core) | peak RSS MB |\n|---|---|---|")
    for name, cpu, rss in result["processes"]:
        print(f"| {name} | {cpu:.0f} | {rss:.0f} |" if rss else f"| {name} | {cpu:.0f} | – |")
    writes = result["writes"]
    print(f"\nwrites: {writes['told']} touches the load was told were stored, "
          f"{writes['stored']} in the database; lost {len(writes['lost'])}, doubled "
          f"{len(writes['doubled'])}, stored but unanswered {writes['stored_not_told']}")
    ok = (failures == 0 and not writes["lost"] and not writes["doubled"]
          and not writes["told_twice"])
    print("result:", "ok" if ok else "FAILED", f"(locust exit {result['locust_exit']})")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default="1,2,2k",
                        help="one run per entry: the replicas, with k: kill replica 2 half-way")
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--kill-at", type=float, default=0.5,
                        help="when replica 2 is killed in a run marked k, as a share of it")
    parser.add_argument("--postgres",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_team")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "loadtest")
    args = parser.parse_args()
    out = args.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    env = {**os.environ, "DATABASE_URL": args.postgres, "REDIS_URL": args.redis,
           "HANDOFF_COOKIE_KEY": secrets.token_hex(32),
           "HANDOFF_SECRET_KEY": _fernet_key(), "HANDOFF_WORKER_NAME": "load"}
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "HANDOFF_SECRET_KEY")})
    started = time.monotonic()
    reps = build_workspace(args.postgres, args.leads, args.reps, env)
    token = cli(env, "api", "token", "create", "load", "--scope", "write").strip()
    lead_ids, api_leads = load_inputs(args.postgres)
    crm = LiveCrm()
    crm.connect()
    print(f"setup: {args.leads:,} demo leads, {len(reps)} reps, HubSpot on {crm.fake.base_url}, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    results = []
    try:
        for plan in args.runs.split(","):
            replicas, kill = int(plan.rstrip("k")), plan.endswith("k")
            print(f"\nrun: {replicas} replica(s){', one killed' if kill else ''}, "
                  f"{args.users} users, {args.minutes:g} min…", flush=True)
            results.append(one_run(args, replicas, kill, reps, env, crm, token, lead_ids,
                                   api_leads, out))
    finally:
        crm.close()
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    # One replica is the comparison: a team runs two or more. Its failures are printed; the
    # runs of the team (and every run's writes) decide the exit status.
    ok = True
    for result in results:
        passed, writes = report(result), result["writes"]
        kept = not (writes["lost"] or writes["doubled"] or writes["told_twice"])
        ok = ok and kept and (passed or result["replicas"] < 2)
    print(f"\n(raw: {out})")
    sys.exit(0 if ok else 1)


def _written(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _fernet_key() -> str:
    from core import secret_box

    return secret_box.new_key()


if __name__ == "__main__":
    main()
