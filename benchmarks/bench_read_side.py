"""Read-side speed, checkout against checkout: the CLI report, the Compliance page, a render
after an import, and a login in a real browser, over 1,000,000 leads of 2025 and 3,000,000
touches (bench_compliance.py's generator, two signed versions).

Usage: python benchmarks/bench_read_side.py [--root PATH ...] [--leads N] [--touches N]
           [--postgres URL | --skip-postgres] [--skip-sqlite] [--skip-browser] [--rebuild]
           [--timeout S]

  --root       a checkout whose code is timed (default: this script's own); repeat it to time
               several side by side: `--root /work/before --root /work/main` gives the columns
               "before <sha>" and "after <sha>" (a checkout with uncommitted changes is <sha>+wip)
  --postgres   the server to use (default postgresql+psycopg://postgres@127.0.0.1:5432/bench_read);
               one database per root, named after the URL's (bench_read_before, bench_read_after,
               ...), is created empty, built, and dropped at the end: rebuilt on every run
  --rebuild    rebuild the cached SQLite files too
  --timeout    the ceiling of every subprocess, in seconds (default 1200)

Every timed step runs in a fresh subprocess with cwd=ROOT and PYTHONPATH=ROOT:ROOT/benchmarks
(then this script's directory, for its own workers), so each checkout's own modules are imported.
Each root builds its own database with its own benchmarks/bench_compliance.py (the schema may
differ between checkouts); SQLite files are cached as /tmp/bench-read/<sha>-<leads>.db (a
checkout with uncommitted changes adds a hash of its schema files to <sha>) and reused while
their row counts match; the steps run on a scratch copy, since step 4 imports into it.

Steps, per backend (SQLite file, PostgreSQL) and root; wall time and the subprocess's peak RSS
(GNU time's %M):
  1. `python -m core.cli report` for the whole of 2025, as of 2026-01-15 12:00 UTC: exit 0,
     stdout is JSON; prints its MQL count, and whether every root printed the same JSON;
  2. the same `--by rep`;
  3. the Compliance page through Streamlit's AppTest as the head of sales, pinned to
     ?as_of=2025-09-30T12:00Z: first render of 2025-09 (cold), the same again (cached), 2025-Q3
     (cold), again (cached), all in one process so its caches persist. Before the first render
     the process imports what a serving process has imported by the time a user can open the
     page (the entry point's, the login's and the landing page's modules, WARM_MODULES): cold
     means no data read or measured yet, not a server that never served its login page;
  4. in that process: 1,000 new leads with their MQL in 2025-Q3 imported by the CLI in a separate
     process, then the next render of the quarter (checked: the funnel's MQL bar went up by 1,000)
     and the one after it.
Then, per root, on a fresh demo workspace (SQLite, `db upgrade` and `demo seed`) served by
`streamlit run` and driven by Debian's Chromium through Playwright:
  5. from clicking "Log in" to the landing page's main content (sofia and erin: the scorecard's
     "Sales commits to"; ana: "Find a lead", the heading below her worklist), for each user on a
     freshly started server (first login) and again in a new browser context (second login);
     "idle" is when Streamlit then stopped running (tests/browser/serving.py's settle, less its
     quiet time).
Raw lines print as they go; a table per backend, ready for the README, comes at the end. Setup
(building, copying, seeding, starting the server) is timed and labelled as setup.
"""

import argparse
import hashlib
import importlib
import json
import os
import resource
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRATCH = Path("/tmp/bench-read")
PYTHON = sys.executable
TIME = "/usr/bin/time"  # GNU time, for the peak RSS
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_read"
YEAR = "2025-01-01:2026-01-01"
REPORT_AS_OF = "2026-01-15T12:00:00Z"
PAGE_AS_OF = "2025-09-30T12:00:00Z"
NEW_LEADS = 1_000
LABELS = ["before", "after"]
# What app.py and the landing page (app_pages/home.py) import; a checkout without one skips it
WARM_MODULES = ["ui.auth", "ui.navigation", "ui.data", "ui.scorecard", "ui.services",
                "core.services"]
# ana's landing text: the heading below her worklist (measured and drawn by then)
USERS = {"sofia": "Sales commits to", "ana": "Find a lead", "erin": "Sales commits to"}
SCHEMA_FILES = ["db/models.py", "db/bulk.py", "benchmarks/bench_compliance.py"]


# ---------------------------------------------------------------------------------------------
# Subprocesses: wall time, exit code and peak RSS (GNU time's, the child and what it waited for)


@dataclass
class Ran:
    seconds: float
    returncode: int
    peak_mb: float
    stdout: str
    stderr: str


def run_child(command: list[str], *, cwd: Path, env: dict, timeout: float, out: Path,
              inherit_stdout: bool = False) -> Ran:
    """Run command to the end (its process group killed after timeout seconds); stdout to
    out (or to ours), stderr to out.stderr. The peak RSS is GNU time's: a child forked from a
    big process starts its ru_maxrss at that process's size, /usr/bin/time's child does not."""
    err = out.with_name(out.name + ".stderr")
    peak = out.with_name(out.name + ".maxrss")
    peak.unlink(missing_ok=True)
    killed = threading.Event()
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen([TIME, "-f", "%M", "-o", str(peak), *command], cwd=cwd,
                                   env=env, start_new_session=True,
                                   stdout=None if inherit_stdout else stdout, stderr=stderr)
        timer = threading.Timer(timeout, _kill_group, [process.pid, killed])
        timer.start()
        try:
            process.wait()
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    if killed.is_set():
        err.write_text(err.read_text() + f"\n(killed after the {timeout:.0f} s timeout)\n")
    lines = peak.read_text().split() if peak.exists() else []
    peak_mb = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
    return Ran(seconds, process.returncode, peak_mb,
               "" if inherit_stdout else out.read_text(), err.read_text())


def _kill_group(pid: int, killed: threading.Event | None = None) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
        if killed is not None:
            killed.set()
    except ProcessLookupError:
        pass


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class StepFailed(Exception):
    pass


def check(ran: Ran, what: str) -> Ran:
    if ran.returncode != 0:
        raise StepFailed(f"{what} exited {ran.returncode}:\n{tail(ran.stderr or ran.stdout)}")
    return ran


# ---------------------------------------------------------------------------------------------
# Roots and databases


@dataclass
class Root:
    path: Path
    label: str
    sha: str
    dirty: bool
    key: str  # names its cached files: the commit, plus a hash of its schema files if dirty
    column: str = field(init=False)

    def __post_init__(self) -> None:
        self.column = f"{self.label} {self.sha}{'+wip' if self.dirty else ''}"

    def env(self, database_url: str, **extra: str) -> dict:
        path = [str(self.path), str(self.path / "benchmarks"), str(HERE)]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "DATABASE_URL": database_url,
                "HANDOFF_COOKIE_KEY": COOKIE_KEY, **extra}

    def run(self, command: list[str], database_url: str, timeout: float, out: Path,
            **options) -> Ran:
        return run_child(command, cwd=self.path, env=self.env(database_url), timeout=timeout,
                         out=out, **options)

    def worker(self, kind: str, database_url: str, timeout: float, **arguments) -> dict:
        """Run one of this script's workers in the root; its lines print as they go, its
        figures come back through a JSON file."""
        result = SCRATCH / f"{self.key}-{kind}.result.json"
        result.unlink(missing_ok=True)
        arguments = {**arguments, "root": str(self.path), "result": str(result),
                     "timeout": timeout, "prefix": f"[{self.column}]"}
        ran = self.run([PYTHON, "-m", "bench_read_side", "worker", kind, json.dumps(arguments)],
                       database_url, timeout, SCRATCH / f"{self.key}-{kind}.log",
                       inherit_stdout=True)
        figures = json.loads(result.read_text()) if result.exists() else {}
        figures["peak_mb"] = ran.peak_mb
        if ran.returncode != 0:
            figures["error"] = figures.get("error") or \
                f"worker {kind} exited {ran.returncode}:\n{tail(ran.stderr)}"
        return figures


COOKIE_KEY = secrets.token_hex(32)


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def make_roots(paths: list[Path]) -> list[Root]:
    roots = []
    for index, path in enumerate(paths):
        path = path.resolve()
        sha = git(path, "rev-parse", "--short", "HEAD")
        dirty = bool(git(path, "status", "--porcelain", "--untracked-files=all"))
        key = sha
        if dirty:
            digest = hashlib.sha1()
            files = [path / name for name in SCHEMA_FILES]
            files += sorted((path / "db" / "migrations" / "versions").glob("*.py"))
            for file in files:
                digest.update(file.name.encode() + (file.read_bytes() if file.exists() else b""))
            key = f"{sha}-wip{digest.hexdigest()[:8]}"
        label = LABELS[index] if index < len(LABELS) else f"root{index + 1}"
        roots.append(Root(path, label, sha, dirty, key))
    if len({root.key for root in roots}) < len(roots):
        sys.exit("error: two --root checkouts have the same code (same commit, same schema)")
    return roots


def sqlite_counts(path: Path) -> tuple[int, int] | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return tuple(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                         for table in ("leads", "touches"))
    except sqlite3.Error:
        return None


def sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def remove_sqlite(path: Path) -> None:
    for file in sqlite_files(path):
        file.unlink(missing_ok=True)


def build(root: Root, url: str, args) -> Ran:
    """Build the database at url with the root's own bench_compliance.build_database."""
    code = ("import sys; from bench_compliance import build_database, generate, versions; "
            "from db.engine import get_engine; "
            "leads, touches = generate(int(sys.argv[1]), int(sys.argv[2])); "
            "build_database(sys.argv[3], leads, touches, versions()); get_engine().dispose()")
    command = [PYTHON, "-c", code, str(args.leads), str(args.touches), url]
    env = root.env(url, HANDOFF_BCRYPT_ROUNDS="4")
    ran = run_child(command, cwd=root.path, env=env, timeout=args.timeout,
                    out=SCRATCH / f"{root.key}-build.log")
    return check(ran, "building the database")


def sqlite_database(root: Root, args, say) -> str:
    """A scratch copy of the root's cached SQLite file (built first if missing or stale)."""
    cached = SCRATCH / f"{root.key}-{args.leads}.db"
    if args.rebuild or sqlite_counts(cached) != (args.leads, args.touches):
        remove_sqlite(cached)
        building = SCRATCH / f"{root.key}-{args.leads}.building.db"
        remove_sqlite(building)
        ran = build(root, f"sqlite:///{building}", args)
        for source, target in zip(sqlite_files(building), sqlite_files(cached), strict=True):
            if source.exists():
                source.rename(target)
        say("setup", f"built {cached} ({cached.stat().st_size / 2**20:,.0f} MB)", ran)
    else:
        say("setup", f"reusing {cached} ({args.leads:,} leads, {args.touches:,} touches)")
    work = SCRATCH / f"work-{root.key}.db"
    remove_sqlite(work)
    started = time.perf_counter()
    with closing(sqlite3.connect(f"file:{cached}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(work)) as target:
        source.backup(target)
    say("setup", f"scratch copy {work}", seconds=time.perf_counter() - started)
    return f"sqlite:///{work}"


class Postgres:
    """One database per root on the server, created empty, dropped at the end."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.created: list[str] = []

    def connect(self):
        import psycopg

        return psycopg.connect(host=self.url.host or "127.0.0.1", port=self.url.port or 5432,
                               user=self.url.username, password=self.url.password,
                               dbname="postgres", autocommit=True, connect_timeout=10)

    def fresh(self, root: Root) -> str:
        name = f"{self.url.database or 'bench_read'}_{root.label}"
        if name == "test" or not name.startswith("bench"):
            sys.exit(f"error: refusing to use the database {name!r}")
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.connect() as connection:
            for name in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


# ---------------------------------------------------------------------------------------------
# The orchestrator


class Table:
    """Rows of figures per root, printed at the end."""

    def __init__(self, title: str, roots: list[Root]) -> None:
        self.title, self.roots, self.rows = title, roots, {}

    def put(self, row: str, root: Root, text: str) -> None:
        self.rows.setdefault(row, {})[root.key] = text

    def markdown(self) -> str:
        lines = [self.title, "", "| step | " + " | ".join(r.column for r in self.roots) + " |",
                 "|---|" + "---|" * len(self.roots)]
        for row, cells in self.rows.items():
            lines.append(f"| {row} | " + " | ".join(cells.get(r.key, "–") for r in self.roots)
                         + " |")
        return "\n".join(lines)


def figure(seconds: float, peak_mb: float | None = None) -> str:
    text = f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"
    return text + (f" · {peak_mb:,.0f} MB" if peak_mb else "")


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def cli_steps(root: Root, backend: str, url: str, args, table: Table, say,
              outputs: dict) -> None:
    """Steps 1 and 2: the whole-year report, then by rep."""
    helped = root.run([PYTHON, "-m", "core.cli", "report", "--help"], url, 120,
                      SCRATCH / f"{root.key}-report-help.txt")
    missing = [flag for flag in ("--period", "--as-of", "--by") if flag not in helped.stdout]
    if helped.returncode != 0 or missing:
        raise StepFailed(f"`core.cli report --help` exited {helped.returncode}, lacks "
                         f"{missing}:\n{tail(helped.stderr or helped.stdout)}")
    for number, row, extra in ((1, "1. CLI report, the whole year", []),
                               (2, "2. the same `--by rep`", ["--by", "rep"])):
        out = SCRATCH / f"{root.key}-{backend}-report{number}.json"
        try:
            ran = check(root.run([PYTHON, "-m", "core.cli", "report", "--period", YEAR,
                                  "--as-of", REPORT_AS_OF, *extra], url, args.timeout, out),
                        "core.cli report")
            try:
                data = json.loads(ran.stdout)
            except json.JSONDecodeError as error:
                raise StepFailed(f"stdout is not JSON ({error}): {ran.stdout[:300]!r}") from None
            mql = data["funnel"]["mql"]
        except (StepFailed, KeyError, TypeError) as error:
            say(row, f"FAILED: {error}")
            table.put(row, root, "failed")
            continue
        outputs.setdefault(number, {})[root.key] = data
        say(row, f"exit 0, JSON, {mql:,} MQLs", ran)
        table.put(row, root, figure(ran.seconds, ran.peak_mb))
        if number == 1:
            table.put("MQLs in the year report", root, f"{mql:,}")


def compare_outputs(roots: list[Root], outputs: dict, table: Table, backend: str) -> None:
    """Each root's report JSON against the first root's (key order ignored)."""
    for number, label in ((1, "year report JSON"), (2, "`--by rep` JSON")):
        printed = outputs.get(number, {})
        first = roots[0]
        for root in roots[1:]:
            if first.key not in printed or root.key not in printed:
                continue
            ours, theirs = printed[first.key], printed[root.key]
            if ours == theirs:
                verdict = "same JSON"
            else:
                keys = sorted(set(ours) | set(theirs))
                verdict = "differs: " + ", ".join(k for k in keys if ours.get(k) != theirs.get(k))
            print(f"  [{backend}] {label}, {root.column} vs {first.column}: {verdict}", flush=True)
            table.put(f"{label} vs {first.label}", root, verdict)


def page_steps(root: Root, backend: str, url: str, args, table: Table, say) -> None:
    """Steps 3 and 4, in one AppTest process."""
    csv = SCRATCH / f"{root.key}-{backend}-new-leads.csv"
    figures = root.worker("apptest", url, args.timeout, csv=str(csv), new_leads=NEW_LEADS)
    for row, seconds in figures.get("renders", []):
        table.put(row, root, figure(seconds))
    if "import" in figures:
        seconds, peak = figures["import"]
        table.put(f"4. `core.cli import leads`, {NEW_LEADS:,} leads (separate process)", root,
                  figure(seconds, peak))
    if "mql_check" in figures:
        table.put("MQLs on the page, 2025-Q3, before → after the import", root,
                  figures["mql_check"])
    table.put("AppTest process, peak RSS", root, f"{figures['peak_mb']:,.0f} MB")
    if "error" in figures:
        say("3./4. AppTest", f"FAILED: {figures['error']}")
        table.put("AppTest error", root, one_line(figures["error"]))


def browser_steps(root: Root, args, table: Table, say) -> None:
    """Step 5 on a fresh demo workspace."""
    path = SCRATCH / f"demo-{root.key}.db"
    remove_sqlite(path)
    url = f"sqlite:///{path}"
    for command in (["db", "upgrade"], ["demo", "seed"]):
        ran = check(root.run([PYTHON, "-m", "core.cli", *command], url, args.timeout,
                             SCRATCH / f"{root.key}-demo-{command[1]}.log"),
                    f"core.cli {' '.join(command)}")
        say("setup", f"`core.cli {' '.join(command)}`: {one_line(ran.stdout)[:120]}", ran)
        table.put(f"setup: `{' '.join(command)}`", root, figure(ran.seconds, ran.peak_mb))
    figures = root.worker("browser", url, args.timeout, users=USERS)
    for row, text in figures.get("rows", []):
        table.put(row, root, text)
    if "error" in figures:
        say("5. browser", f"FAILED: {figures['error']}")
        table.put("browser error", root, one_line(figures["error"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, action="append")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=3_000_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    roots = make_roots(args.root or [HERE.parent])
    print(f"{args.leads:,} leads of 2025, {args.touches:,} touches; roots: "
          + ", ".join(f"{root.column} = {root.path}" for root in roots), flush=True)
    backends = ([] if args.skip_sqlite else ["SQLite"]) + \
        ([] if args.skip_postgres else ["PostgreSQL"])
    postgres = None if args.skip_postgres else Postgres(args.postgres)
    tables = []
    try:
        for backend in backends:
            table = Table(f"{backend}, {args.leads:,} leads, {args.touches:,} touches", roots)
            tables.append(table)
            outputs: dict = {}
            for root in roots:
                def say(step, text, ran=None, seconds=None, root=root, backend=backend):
                    timing = figure(ran.seconds, ran.peak_mb) if ran else \
                        figure(seconds) if seconds is not None else ""
                    print(f"[{root.column}] {backend} {step}: {timing}  {text}", flush=True)

                print(f"== {backend}, {root.column} ({root.path})", flush=True)
                try:
                    started = time.perf_counter()
                    if backend == "SQLite":
                        url = sqlite_database(root, args, say)
                    else:
                        url = postgres.fresh(root)
                        ran = build(root, url, args)
                        say("setup", f"built {url.rsplit('/', 1)[-1]}", ran)
                    table.put("setup: database (built with its own code, or reused)", root,
                              figure(time.perf_counter() - started))
                except StepFailed as error:
                    say("setup", f"FAILED: {error}")
                    table.put("setup error", root, one_line(error))
                    continue
                try:
                    cli_steps(root, backend, url, args, table, say, outputs)
                except StepFailed as error:
                    say("1./2. CLI", f"FAILED: {error}")
                    table.put("CLI error", root, one_line(error))
                page_steps(root, backend, url, args, table, say)
                if backend == "SQLite":
                    remove_sqlite(Path(url.removeprefix("sqlite:///")))
                else:
                    postgres.drop_all()
            compare_outputs(roots, outputs, table, backend)
        if not args.skip_browser:
            table = Table("Login in Chromium, demo workspace (SQLite), click to main content",
                          roots)
            tables.append(table)
            for root in roots:
                def say(step, text, ran=None, root=root):
                    timing = figure(ran.seconds, ran.peak_mb) if ran else ""
                    print(f"[{root.column}] {step}: {timing}  {text}", flush=True)

                print(f"== browser, {root.column} ({root.path})", flush=True)
                try:
                    browser_steps(root, args, table, say)
                except StepFailed as error:
                    say("5. browser", f"FAILED: {error}")
                    table.put("browser error", root, one_line(error))
    finally:
        if postgres:
            postgres.drop_all()
    print()
    for table in tables:
        print(table.markdown(), end="\n\n", flush=True)


# ---------------------------------------------------------------------------------------------
# Workers: run in a root (cwd and PYTHONPATH), so `core`, `db`, `ui` and `tests` are its own


def worker_main(kind: str, arguments: dict) -> None:
    root = Path(arguments["root"])
    import core

    if not Path(core.__file__).resolve().is_relative_to(root):
        sys.exit(f"error: core was imported from {core.__file__}, not from {root}")
    figures: dict = {}
    try:
        {"apptest": apptest_worker, "browser": browser_worker}[kind](root, arguments, figures)
    except Exception as error:  # reported to the orchestrator, which carries on
        import traceback

        traceback.print_exc()
        figures["error"] = f"{type(error).__name__}: {error}"
        raise SystemExit(1) from None
    finally:
        Path(arguments["result"]).write_text(json.dumps(figures))


def peak_self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def funnel_mql(at) -> int | None:
    """The MQL bar of the funnel chart, read from the chart's data as sent to the browser."""
    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
            if {"stage", "leads"} <= set(frame.columns):
                mql = frame.loc[frame["stage"] == "mql", "leads"]
                if len(mql):
                    return int(mql.iloc[0])
    return None


def period_widget(at):
    """The page's period selector: key dash_period, else a widget labelled Period."""
    widgets = [*at.text_input, *at.selectbox, *at.radio, *at.select_slider]
    found = [w for w in widgets if w.key == "dash_period"] or \
        [w for w in widgets if str(w.label).strip().lower() == "period"]
    if len(found) != 1:
        listed = ", ".join(f"{type(w).__name__}(key={w.key!r}, label={w.label!r})"
                           for w in widgets)
        raise RuntimeError(f"no single period selector on the page ({len(found)} found); "
                           f"widgets: {listed}")
    return found[0]


def apptest_worker(root: Path, arguments: dict, figures: dict) -> None:
    import numpy as np
    import pandas as pd
    from bench_import import LEAD_MAP
    from streamlit.testing.v1 import AppTest

    from core.services import get_actor
    from db.engine import get_session

    prefix = arguments["prefix"]
    renders = figures["renders"] = []
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            print(f"{prefix} (no module {name} to import before the first render)", flush=True)
    with get_session() as session:
        sofia = get_actor(session=session, username="sofia")
    at = AppTest.from_file(str(root / "app_pages" / "dashboard.py"),
                           default_timeout=arguments["timeout"])
    at.session_state["authentication_status"] = True
    at.session_state["actor"] = sofia
    at.query_params["as_of"] = PAGE_AS_OF

    def timed(row: str, step) -> int | None:
        started = time.perf_counter()
        step()
        seconds = time.perf_counter() - started
        if at.exception:
            raise RuntimeError(f"{row}: the page raised: {at.exception[0].value}")
        if at.error:
            raise RuntimeError(f"{row}: the page shows an error: {at.error[0].value}")
        mql = funnel_mql(at)
        renders.append((row, seconds))
        print(f"{prefix} {row}: {seconds:.2f} s  ({len(at.get('vega_lite_chart'))} charts, "
              f"funnel MQL {mql if mql is None else f'{mql:,}'}, process peak RSS so far "
              f"{peak_self_mb():,.0f} MB)", flush=True)
        return mql

    def choose(period: str) -> None:
        widget = period_widget(at)
        if hasattr(widget, "options") and period not in widget.options:
            raise RuntimeError(f"the period selector offers no {period}: {widget.options}")
        widget.set_value(period).run()

    timed("3. page, 2025-09, first render (cold)", at.run)
    if (shown := period_widget(at).value) != "2025-09":
        print(f"{prefix} the page opened on {shown}, not 2025-09: choosing 2025-09", flush=True)
        renders.pop()
        timed("3. page, 2025-09, first render (cold)", lambda: choose("2025-09"))
    timed("3. page, 2025-09, cached render", at.run)
    timed("3. page, 2025-Q3, first render (cold)", lambda: choose("2025-Q3"))
    before = timed("3. page, 2025-Q3, cached render", at.run)

    rng = np.random.default_rng(2025)
    mql = pd.Timestamp("2025-07-02", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 89 * 86400, arguments["new_leads"]), unit="s")
    count = arguments["new_leads"]
    pd.DataFrame({
        "id": np.char.add("NEW", np.arange(count).astype(str)),
        "created": (mql - pd.Timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "mql": mql.strftime("%Y-%m-%d %H:%M:%S"),
        "owner": np.array([f"rep{i:02d}" for i in range(40)])[rng.integers(0, 40, count)],
        "channel": rng.choice(["organic_search", "paid_search", "email"], count),
        "email": np.char.add(np.char.add("new", np.arange(count).astype(str)), "@example.com"),
        "score": rng.integers(20, 100, count),
        "amount": rng.integers(2000, 60000, count),
    }).to_csv(arguments["csv"], index=False)
    maps = [option for field_name, column in LEAD_MAP.items()
            for option in ("--map", f"{field_name}={column}")]
    ran = run_child([sys.executable, "-m", "core.cli", "import", "leads", arguments["csv"],
                     *maps, "--tz", "UTC", "--source", "bench-new", "--format", "json"],
                    cwd=root, env=dict(os.environ), timeout=arguments["timeout"],
                    out=Path(arguments["csv"] + ".import.json"))
    check(ran, "core.cli import leads")
    summary = json.loads(ran.stdout)
    print(f"{prefix} 4. `core.cli import leads` (separate process): {ran.seconds:.2f} s  peak "
          f"RSS {ran.peak_mb:,.0f} MB  {ran.stdout.strip()[:200]!r}", flush=True)
    figures["import"] = (ran.seconds, ran.peak_mb)
    if summary.get("inserted") != count:
        raise RuntimeError(f"the import inserted {summary.get('inserted')}, not {count}")
    after = timed(f"4. page, 2025-Q3, first render after importing {count:,} leads", at.run)
    timed("4. page, 2025-Q3, the render after that (cached)", at.run)
    if before is None or after is None:
        raise RuntimeError("no funnel chart with an MQL bar on the page")
    verdict = f"{before:,} → {after:,} ({after - before:+,})"
    figures["mql_check"] = verdict + ("" if after - before == count else " WRONG")
    print(f"{prefix} MQLs on the page: {verdict}", flush=True)
    if after - before != count:
        raise RuntimeError(f"the page's MQL count went from {before:,} to {after:,}, "
                           f"not up by {count:,}")


def browser_worker(root: Path, arguments: dict, figures: dict) -> None:
    from playwright.sync_api import sync_playwright

    from core.demo import DEMO_PASSWORD
    from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS, QUIET_MS, settle

    prefix, timeout = arguments["prefix"], arguments["timeout"]
    rows = figures["rows"] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            for username, landing in arguments["users"].items():
                with Served(root, timeout) as (url, started, pid):
                    rows.append((f"setup: server start for {username}", f"{started:.2f} s"))
                    print(f"{prefix} setup: streamlit up on {url} in {started:.2f} s", flush=True)
                    cells = []
                    for attempt in ("first", "second"):
                        visible, idle = log_in(browser, url, username, DEMO_PASSWORD, landing,
                                               settle, QUIET_MS)
                        cells.append(f"{visible:.2f} s (idle {idle:.2f} s)")
                        print(f"{prefix} 5. {username}, {attempt} login: {visible:.2f} s to "
                              f"{landing!r}, idle at {idle:.2f} s", flush=True)
                    server_peak = vm_hwm_mb(pid)
                    rows.append((f"5. login {username} → “{landing}”, first / second",
                                 " / ".join(cells)))
                    rows.append((f"server peak RSS after {username}'s logins",
                                 f"{server_peak:,.0f} MB"))
        finally:
            browser.close()


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Served:
    """`streamlit run app.py` in the root on a free port, until the block ends."""

    def __init__(self, root: Path, timeout: float) -> None:
        self.root, self.timeout = root, timeout

    def __enter__(self) -> tuple[str, float, int]:
        import urllib.request

        from tests.browser.serving import free_port

        port = free_port()
        self.log = (SCRATCH / f"streamlit-{port}.log").open("w")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=self.root, env=dict(os.environ), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:  # the health endpoint answers once the server listens
                if self.process.poll() is not None:
                    raise RuntimeError(f"streamlit exited {self.process.returncode}:\n"
                                       + tail(Path(self.log.name).read_text()))
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"streamlit did not answer on {url}") from None
                    time.sleep(0.1)
        except BaseException:
            self.__exit__()
            raise
        return url, time.perf_counter() - started, self.process.pid

    def __exit__(self, *_) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _kill_group(self.process.pid)
            self.process.wait(timeout=20)
        self.log.close()


def log_in(browser, url: str, username: str, password: str, landing: str, settle,
           quiet_ms: int) -> tuple[float, float]:
    """Seconds from clicking Log in to the landing text visible, and to Streamlit idle."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        settle(page)
        target = page.get_by_text(landing, exact=True)
        failure = page.get_by_test_id("stException").or_(
            page.get_by_text("Username or password is incorrect."))
        started = time.perf_counter()
        page.get_by_role("button", name="Log in").click()
        try:
            target.or_(failure).first.wait_for(state="visible")
        except Exception as error:
            shot = SCRATCH / f"login-{username}-{os.getpid()}.png"
            page.screenshot(path=str(shot), full_page=True)
            shown = one_line(page.locator("body").inner_text(timeout=10_000))
            raise RuntimeError(f"{username}: {landing!r} not visible ({type(error).__name__}); "
                               f"screenshot {shot}; the page reads: {shown}") from None
        visible = time.perf_counter() - started
        if not target.first.is_visible():
            raise RuntimeError(f"{username}: the page shows {failure.first.inner_text()!r} "
                               f"instead of {landing!r}")
        settle(page)
        idle = time.perf_counter() - started - quiet_ms / 1000
        return visible, max(idle, visible)
    finally:
        context.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        main()
