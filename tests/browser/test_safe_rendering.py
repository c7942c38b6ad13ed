"""In a real browser: text that users write or import shows as written and fetches nothing.

A local HTTP server records every request it gets. Markdown that would make each viewer's
browser fetch from it (an image, a raw <img>, a link) goes into an agreement comment (posted
through the form, as the head of sales), the agreement's definitions, a commitment's
description and a consequence (through the services), a dispute comment, and the names and
companies of the leads on the worklist. Each page is opened and settled, the text is seen
literally, and the server has seen no request.
"""

import contextlib
import http.server
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, create_engine, select

from core import agreement as sla
from core import clock
from core.demo import DEMO_PASSWORD
from core.services import agreements, get_actor, leads, measurement
from db.engine import session_scope
from db.models import Comment, Lead
from tests.browser.conftest import DEMO_LEADS, log_in
from tests.browser.serving import open_page, served_demo, settle

HEAD = "sofia"
MARKETER = "marco"
JOINER = "\u2060"  # ui.text's invisible word joiner: not part of what the user reads
# The visible text of the app's main area, as a user reads it.
MAIN_TEXT = ("() => (document.querySelector('[data-testid=\"stMain\"]')?.innerText ?? '')"
             f".replaceAll('{JOINER}', '')")


@dataclass
class Recorder:
    """A local HTTP server that answers 404 to everything and remembers every path asked."""

    server: http.server.ThreadingHTTPServer
    requests: list[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def lines(self) -> list[str]:
        """Hostile markdown pointing here: an image, a raw <img> tag and a link."""
        return [f"![x]({self.base}/pixel.png)", f'<img src="{self.base}/raw.png">',
                f"[click]({self.base}/link)"]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    """The recording server on a free port of 127.0.0.1, checked to record."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder = Recorder(server, seen)
    with contextlib.suppress(urllib.error.HTTPError):  # the 404 it answers
        urllib.request.urlopen(f"{recorder.base}/self-check", timeout=5)
    assert seen == ["/self-check"]
    seen.clear()
    yield recorder
    server.shutdown()
    thread.join()


@dataclass(frozen=True)
class Served:
    """The app's address and the database it serves."""

    url: str
    engine: Engine


@pytest.fixture(scope="module")
def served(chromium, tmp_path_factory, recorder) -> Iterator[Served]:
    """The demo served over this module's own database, with the hostile text planted."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('rendering') / 'handoff.db'}"
    with served_demo(database_url, DEMO_LEADS) as url:
        engine = create_engine(database_url, connect_args={"timeout": 30})
        try:
            hostile = "\n".join(recorder.lines())
            write_into_the_agreement(engine, hostile)
            dispute_a_rejection(engine, hostile)
            name_the_urgent_leads(engine, recorder.lines())
            yield Served(url, engine)
        finally:
            engine.dispose()


def write_into_the_agreement(engine: Engine, text: str) -> None:
    """Marketing saves the latest version with the text in the MQL definition, the first
    commitment's description and marketing's consequence."""
    with session_scope(engine) as session:
        marco = get_actor(session=session, username=MARKETER)
        latest = agreements.get_version(session=session, actor=marco, agreement_id=1)
        data = sla.to_dict(latest.document)
        data["stages"]["mql"]["description"] = text
        data["commitments"][0]["description"] = text
        data["consequences"] = {**data.get("consequences", {}), "marketing": text}
        agreements.save_draft(session=session, actor=marco, agreement_id=1,
                              number=latest.number, document=sla.from_dict(data),
                              expected_revision=latest.revision)


def dispute_a_rejection(engine: Engine, text: str) -> None:
    """Marketing disputes a rejection that has no open dispute, with the text as its comment."""
    with session_scope(engine) as session:
        marco = get_actor(session=session, username=MARKETER)
        rejected = leads.rejected_leads(session=session, actor=marco)
        lead_id = int(rejected.loc[~rejected["disputed"].astype(bool), "id"].iloc[0])
        leads.dispute_rejection(session=session, actor=marco, lead_id=lead_id, comment=text)


def name_the_urgent_leads(engine: Engine, lines: list[str]) -> None:
    """Every open clock's lead the head of sales sees gets a hostile name and company; one
    overdue lead is planted first, so that the worklist lists at least one."""
    now = clock.now()
    with session_scope(engine) as session:
        session.add(Lead(source="browser-test", external_id="T-HOSTILE", owner="ana",
                         created_at=now - timedelta(days=5), mql_at=now - timedelta(days=5)))
        session.flush()
        head = get_actor(session=session, username=HEAD)
        rows = measurement.worklist(session=session, actor=head)
        for lead in session.exec(select(Lead).where(col(Lead.id).in_(rows["id"].tolist()))):
            lead.name, lead.company = lines[1], lines[0]
            session.add(lead)


def shows(page, text: str, recorder: Recorder) -> None:
    """Wait until the main area reads `text` (each line of it) as written."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for line in text.splitlines():
        try:
            page.wait_for_function(f"text => ({MAIN_TEXT})().includes(text)", arg=line,
                                   polling=100)
        except PlaywrightTimeout:
            pytest.fail(f"the page never read {line!r} as written; the recorder saw "
                        f"{recorder.requests}; the page reads:\n{page.evaluate(MAIN_TEXT)}")


def fetched_nothing(page, recorder: Recorder) -> None:
    """No request reached the recorder, and no image or link points at it."""
    settle(page)
    pointing = page.evaluate("base => document.querySelectorAll("
                             "`img[src^='${base}'], a[href^='${base}']`).length", recorder.base)
    assert (recorder.requests, pointing) == ([], 0)


def test_comments_and_the_agreement_document_show_markdown_as_text(page, served, recorder):
    hostile = "\n".join(recorder.lines())
    log_in(page, served.url, HEAD, DEMO_PASSWORD)
    open_page(page, f"{served.url}/agreements", "Agreements")
    shows(page, hostile, recorder)  # the Document tab: definition, description, consequence
    fetched_nothing(page, recorder)

    page.get_by_role("tab", name="Comments").click()
    add_comment(page, served.engine, hostile)
    # Not the "Comment added." flash: a later rerun of the page may take it away again. And
    # textContent, not innerText: the rerun may show another tab, which hides this one's text.
    page.wait_for_function(f"""lines => [...document.querySelectorAll(
        '[data-testid="stChatMessage"]')].some(message => lines.every(
        line => message.textContent.replaceAll('{JOINER}', '').includes(line)))""",
                           arg=recorder.lines(), polling=100)
    settle(page)
    page.get_by_role("tab", name="Comments").click()  # the tab the rerun may not keep open
    shows(page, hostile, recorder)
    comment = page.locator('[data-testid="stChatMessage"]').last
    assert comment.inner_text().replace(JOINER, "").splitlines()[-3:] == recorder.lines()
    fetched_nothing(page, recorder)


ADD_TRIES = 4  # a click that lands while a busy machine still redraws the page can be lost
ADD_WAIT_SECONDS = 15


def add_comment(page, engine: Engine, body: str) -> None:
    """Type the comment and press Add comment until the comment is stored (the condition
    waited on is the database row; a press is repeated only while none is there)."""
    box = page.get_by_role("textbox", name="Comment", exact=True)
    for _ in range(ADD_TRIES):
        settle(page)
        if box.input_value() != body:
            box.fill(body)
        page.get_by_role("button", name="Add comment").click()
        deadline = time.monotonic() + ADD_WAIT_SECONDS
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                if session.exec(select(Comment.id).where(Comment.body == body)).first():
                    return
            time.sleep(0.1)
    raise AssertionError(f"the comment was not stored after {ADD_TRIES} presses")


def test_a_dispute_comment_shows_markdown_as_text(page, served, recorder):
    log_in(page, served.url, HEAD, DEMO_PASSWORD)
    open_page(page, f"{served.url}/disputes", "Disputes")
    shows(page, "\n".join(recorder.lines()), recorder)
    fetched_nothing(page, recorder)


def test_lead_names_and_companies_on_the_worklist_show_markdown_as_text(page, served, recorder):
    log_in(page, served.url, HEAD, DEMO_PASSWORD)
    open_page(page, f"{served.url}/leads", "Leads")
    page.get_by_role("heading", name="Breaching next", exact=True).wait_for()
    shows(page, f"{recorder.lines()[1]} · {recorder.lines()[0]}", recorder)  # name · company
    fetched_nothing(page, recorder)
