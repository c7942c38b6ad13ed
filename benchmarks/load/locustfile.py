"""Locust users for Handoff's load test (issue 17): sales reps working their worklist, heads
reading the dashboards, the executive's review, and a CRM posting touches to the REST API.

    .venv/bin/locust -f benchmarks/load/locustfile.py --headless -u 60 -r 5 -t 5m \\
        --host http://proxy:8080

The UI users drive the pages over Streamlit's own websocket protocol (streamlit_client.py),
logged in by the re-login cookie a browser login sets (core.session_token, signed with
HANDOFF_COOKIE_KEY). Each action is one entry in locust's stats (request_type "page" or "api";
"reconnect" when a closed connection was replaced by a new session). The touches the app or the
API confirmed are written, when the test stops, to HANDOFF_LOAD_OUT/touches-ui-<pid>.jsonl and
touches-api-<pid>.jsonl, one JSON object a line, so the runner can check each is stored once.
The environment is described in README.md.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import requests
from locust import User, constant_pacing, events, task
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # locust puts only this file's folder on the path
    sys.path.insert(0, str(ROOT))

from benchmarks.load.streamlit_client import (  # noqa: E402
    PageError,
    ProtocolError,
    ProtocolTimeout,
    SessionClosed,
    StreamlitSession,
)
from core import clock, session_token  # noqa: E402
from ui.auth import COOKIE_NAME  # noqa: E402

DEMO_REPS = "ana,ben,chloe,dev,eli,farah"
DEMO_HEADS = "sofia,marco"  # the demo's head of sales (first) and head of marketing
EXEC = "erin"
TOUCH_FORM = {"kind": "Touch", "outcome": "Outcome", "note": "Note", "submit": "Log it"}
TOUCH = {"kind": "Call", "outcome": "Connected"}  # as the form shows them
TOUCH_DONE = "Logged a call"  # the success box after the form's rerun
# Between a UI user's tasks, by who they are: a rep logs about one call a minute (the pace of
# the busiest inside-sales rep: 60 dials an hour), a head opens a page every half minute, the
# exec reads the review about once a minute.
THINK_SECONDS = {"rep": (30, 90), "head": (15, 45), "exec": (30, 90)}
API_BATCH = 500
API_PERIOD_SECONDS = 30
COOKIE_LIFETIME = timedelta(days=1)
LEAD_LINK = re.compile(r"\(lead\?lead=(\d+)\)")  # a worklist card's or table's link
# What fails an action (a closed connection is retried once on a new session first).
FAILURES = (PageError, ProtocolError, ProtocolTimeout, SessionClosed, LookupError, ValueError)


class CardGone(LookupError):
    """The lead left the rep's worklist between drawing its card and the submit (the
    escalation ladder handed it on, or another touch stopped its clock): the app rightly logs
    nothing. Counted as a "conflict", not a failure."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


RUN_ID = _env("HANDOFF_LOAD_RUN") or time.strftime("%Y%m%dT%H%M%S")
OUT_DIR = Path(_env("HANDOFF_LOAD_OUT", "."))
MAX_ACTIONS = int(_env("HANDOFF_LOAD_MAX_ACTIONS", "100000"))
ACTION_TIMEOUT = float(_env("HANDOFF_LOAD_TIMEOUT", "60"))
REPS = [name.strip() for name in _env("HANDOFF_LOAD_REPS", DEMO_REPS).split(",") if name.strip()]
HEADS = [name.strip() for name in _env("HANDOFF_LOAD_HEADS", DEMO_HEADS).split(",")
         if name.strip()]
LEAD_IDS = [int(i) for i in re.split(r"[,\s]+", _env("HANDOFF_LOAD_LEAD_IDS")) if i]

# What the app or the API confirmed, per process, written at the end (flush_records).
UI_TOUCHES: list[dict] = []
API_TOUCHES: list[dict] = []
_seen_lead_ids: list[int] = []  # lead ids the heads of sales saw on their Leads page
_rep_turn = itertools.count()
_head_turn = itertools.count()
_touch_number = itertools.count(1)


@events.test_stop.add_listener
def flush_records(**_kwargs) -> None:
    """Write this process's confirmed touches for the runner (the whole list, again if the
    test stops twice)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for kind, rows in (("ui", UI_TOUCHES), ("api", API_TOUCHES)):
        path = OUT_DIR / f"touches-{kind}-{os.getpid()}.jsonl"
        path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))


class _Reporting(User):
    """A user whose actions go to locust's stats, bounded by HANDOFF_LOAD_MAX_ACTIONS."""

    abstract = True
    actions = 0

    def report(self, request_type: str, name: str, started: float, *, length: int = 0,
               exception: Exception | None = None, elapsed: float | None = None) -> None:
        """One entry in locust's stats: the action's time (its own measure when it has one,
        else the wall time since `started`)."""
        seconds = time.monotonic() - started if elapsed is None else elapsed
        self.environment.events.request.fire(
            request_type=request_type, name=name, response_time=seconds * 1000,
            response_length=length, exception=exception, context={"user": self.username})

    def count_action(self) -> None:
        """Stop this user once it has done its share of actions."""
        if self.actions >= MAX_ACTIONS:
            raise StopUser()
        self.actions += 1

    def give_up(self, name: str, why: str) -> None:
        """Report why this user cannot run, and stop it."""
        self.report("setup", name, time.monotonic(), exception=RuntimeError(why))
        raise StopUser()


class AppUser(_Reporting):
    """A person in a browser tab: one Streamlit session, logged in by the re-login cookie; a
    closed connection is replaced by a new session (same cookies, so the proxy decides the
    replica) and the action retried once."""

    abstract = True
    username = ""
    session: StreamlitSession | None = None
    page_name = ""  # the stats name of the page the tab shows

    def on_start(self) -> None:
        key = _env("HANDOFF_COOKIE_KEY")
        if not key:
            self.give_up("login", "HANDOFF_COOKIE_KEY is not set: the load users sign their "
                                  "re-login cookie with the app's key")
        token = session_token.issue(self.username, key, clock.now(), COOKIE_LIFETIME)
        self.cookies = {COOKIE_NAME: token}
        self.page = ("", "")  # the page the tab shows: reopened on a new session

    def wait_time(self) -> float:
        """Locust's wait between tasks (THINK_SECONDS), spent on the page as an open tab spends it:
        its live fragments rerun on their timers (HANDOFF_LIVE_SECONDS), each reported as a
        "live" entry named after the page. A connection that closes meanwhile is replaced at the
        next action; what is left of the wait then is slept."""
        seconds = random.uniform(*THINK_SECONDS[self.kind])
        if self.session is None:
            return seconds
        end = time.monotonic() + seconds
        try:
            took = self.session.idle(seconds)
        except PageError as error:
            self.report("live", self.page_name, time.monotonic(), exception=error,
                        elapsed=error.elapsed)
            took = []
        except FAILURES:
            took = []
        for elapsed in took:
            self.report("live", self.page_name, time.monotonic(), elapsed=elapsed)
        return max(0.0, end - time.monotonic())

    def on_stop(self) -> None:
        if self.session is not None:
            self.session.close()

    def act(self, name: str, do: Callable[[StreamlitSession], float], *,
            reopen: bool = True) -> bool:
        """Run one action and report it; True when it succeeded. After a reconnect the new
        session shows the tab's page again before the retry (`reopen`; an open opens it)."""
        self.count_action()
        started = time.monotonic()
        try:
            session = self.connected()  # a first connection that fails is a failure
            try:
                elapsed = do(session)
            except SessionClosed as closed:
                self.reconnect(name, closed, reopen)
                started = time.monotonic()
                elapsed = do(self.session)
        except PageError as error:
            self.report("page", name, started, exception=error, elapsed=error.elapsed)
            return False
        except CardGone:
            self.report("conflict", name, started)
            return False
        except FAILURES as error:
            self.report("page", name, started, exception=error)
            return False
        self.report("page", name, started, elapsed=elapsed, length=self.session.received_bytes)
        return True

    def open(self, name: str, url_path: str, query: str = "") -> bool:
        """Open a page (remembered, so a new session after a reconnect shows it again)."""
        self.page, self.page_name = (url_path, query), name
        return self.act(name, lambda session: session.open(url_path, query), reopen=False)

    def connected(self) -> StreamlitSession:
        """This tab's session, opened on first use."""
        if self.session is None:
            self.session = StreamlitSession(self.host, self.cookies, timeout=ACTION_TIMEOUT)
        return self.session

    def reconnect(self, name: str, closed: SessionClosed, reopen: bool) -> None:
        """A new session with the old one's cookies (the proxy's sticky cookie among them: the
        proxy answers a dead replica's with another's) showing the page the tab showed, as the
        frontend does when its connection drops; reported as a "reconnect" of `name`."""
        started = time.monotonic()
        cookies = self.session.cookies() if self.session is not None else self.cookies
        if self.session is not None:
            self.session.close()
        self.session = None
        try:
            self.session = StreamlitSession(self.host, cookies, timeout=ACTION_TIMEOUT)
            if reopen and self.page[0]:
                self.session.open(*self.page)
        except FAILURES as error:
            self.report("reconnect", name, started,
                        exception=SessionClosed(f"{closed}; reconnecting: {error}"))
            raise
        self.report("reconnect", name, started, length=self.session.received_bytes)


class RepUser(AppUser):
    """A sales rep: opens the worklist and logs a call on its first lead card, with a note
    that names the touch (load:<run>:<rep>:<n>); the touches the app confirmed are recorded.
    One user per rep named in HANDOFF_LOAD_REPS (two users as one rep would race for the same
    cards), the rest of the users are heads and the executive."""

    fixed_count = len(REPS)
    kind = "rep"

    def on_start(self) -> None:
        if not REPS:
            self.give_up("login", "HANDOFF_LOAD_REPS names no rep")
        self.username = REPS[next(_rep_turn) % len(REPS)]
        super().on_start()

    @task
    def work_the_worklist(self) -> None:
        if self.open("worklist", "leads"):
            self.act("log touch", self.log_touch)

    def log_touch(self, session: StreamlitSession) -> float:
        """Submit the first card's touch form; a retry after a reconnect is a new touch with
        its own marker (the first may or may not have been stored)."""
        if self.page != ("leads", ""):
            raise LookupError("the worklist is not open")
        marker = f"load:{RUN_ID}:{self.username}:{next(_touch_number)}"
        submit = session.find_widget(TOUCH_FORM["submit"], "button")
        elapsed = session.submit_form(
            {TOUCH_FORM["kind"]: TOUCH["kind"], TOUCH_FORM["outcome"]: TOUCH["outcome"],
             TOUCH_FORM["note"]: marker}, TOUCH_FORM["submit"], form_id=submit.form_id)
        if not any(text.startswith(TOUCH_DONE) for text in session.seen_alerts("success")):
            if all(widget.form_id != submit.form_id for widget in session.widgets()):
                raise CardGone(f"the card {submit.form_id} left the worklist before {marker} "
                                  "was submitted (another user or the API worked its lead): "
                                  "nothing was logged")
            raise LookupError(f"no {TOUCH_DONE!r} in the {session.runs} runs after submitting "
                              f"{marker}; the page shows {session.texts()[:6]}")
        UI_TOUCHES.append({"note": marker, "user": self.username,
                           "lead_id": int(submit.form_id.rsplit("_", 1)[-1]),
                           "at": clock.now().isoformat()})
        return elapsed


class HeadUser(AppUser):
    """The head of sales or of marketing: the Compliance dashboard, a lead's page, Home. The
    lead ids come from HANDOFF_LOAD_LEAD_IDS, else from the links on the head of sales' Leads
    page (shared by the process's heads; the lead page is left out until one is known)."""

    weight = 8
    kind = "head"

    def on_start(self) -> None:
        self.username = HEADS[next(_head_turn) % len(HEADS)]
        self.leads = itertools.cycle(LEAD_IDS) if LEAD_IDS else None
        super().on_start()

    @task
    def read_the_numbers(self) -> None:
        self.open("dashboard", "dashboard")
        if lead_id := self.next_lead():
            self.open("lead", "lead", f"lead={lead_id}")
        self.open("home", "home")

    def next_lead(self) -> int | None:
        """The next lead to open, or None while no id is known (the head of sales looks some up
        on her Leads page first; a failure when it shows none)."""
        if self.leads is not None:
            return next(self.leads)
        if not _seen_lead_ids and self.username == HEADS[0] and self.open("leads", "leads"):
            _seen_lead_ids.extend(int(i) for i in LEAD_LINK.findall(
                " ".join(self.session.texts())))
            if not _seen_lead_ids:
                self.report("page", "lead", time.monotonic(), exception=LookupError(
                    "the Leads page links no lead: set HANDOFF_LOAD_LEAD_IDS"))
        return random.choice(_seen_lead_ids) if _seen_lead_ids else None


class ExecUser(AppUser):
    """The executive: the quarterly review."""

    weight = 1
    kind = "exec"
    username = EXEC

    @task
    def review(self) -> None:
        self.open("review", "review")


class ApiUser(_Reporting):
    """A CRM: every 30 s, 500 touches to POST /api/v1/touches, each with its own note
    (load:<run>:api-<pid>:<n>) and instant; the accepted ones are recorded. Rejected rows,
    or fewer rows inserted than sent, fail the batch."""

    fixed_count = 1
    wait_time = constant_pacing(API_PERIOD_SECONDS)
    username = "api"

    def on_start(self) -> None:
        self.token = _env("HANDOFF_LOAD_API_TOKEN")
        leads = _api_leads(_env("HANDOFF_LOAD_API_LEADS"))
        if not self.token or not leads:
            self.give_up("api touches", "HANDOFF_LOAD_API_TOKEN and HANDOFF_LOAD_API_LEADS "
                                        "(source:external_id,... or a file of them) are needed")
        self.url = (_env("HANDOFF_LOAD_API_URL") or self.host).rstrip("/") + "/api/v1/touches"
        self.sources = itertools.cycle(sorted(leads.items()))
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.numbers = itertools.count(1)

    @task
    def post_touches(self) -> None:
        self.count_action()
        name = f"api touches ({API_BATCH})"
        source, external_ids = next(self.sources)
        batch_at = clock.now()
        rows = [{"lead_external_id": external_ids[i % len(external_ids)],
                 "at": (batch_at + timedelta(microseconds=i)).isoformat(), "kind": "call",
                 "outcome": "no_answer",
                 "note": f"load:{RUN_ID}:api-{os.getpid()}:{next(self.numbers)}"}
                for i in range(API_BATCH)]
        started = time.monotonic()
        try:
            response = self.http.post(self.url, json={"source": source, "rows": rows},
                                      timeout=ACTION_TIMEOUT)
            summary = response.json() if response.ok else None
        except (requests.RequestException, ValueError) as error:
            self.report("api", name, started, exception=error)
            return
        if summary is None or summary["rejected"] or summary["inserted"] != len(rows):
            problem = (f"{response.status_code} {response.text[:300]}" if summary is None else
                       f"inserted {summary['inserted']} of {len(rows)}, rejected "
                       f"{summary['rejected']}: {summary['errors'][:3]}")
            self.report("api", name, started, length=len(response.content),
                        exception=RuntimeError(problem))
            return
        API_TOUCHES.extend({"note": row["note"], "source": source,
                            "lead_external_id": row["lead_external_id"], "at": row["at"]}
                           for row in rows)
        self.report("api", name, started, length=len(response.content))


def _api_leads(setting: str) -> dict[str, list[str]]:
    """The leads the API touches, by source, from "source:external_id,..." or a file of such
    entries (separated by commas or new lines)."""
    if setting and "," not in setting and Path(setting).is_file():
        setting = Path(setting).read_text()
    leads: dict[str, list[str]] = {}
    for entry in re.split(r"[,\n]+", setting):
        source, _, external_id = entry.strip().partition(":")
        if source and external_id:
            leads.setdefault(source, []).append(external_id)
    return leads
