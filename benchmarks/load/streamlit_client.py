"""A synchronous client of Streamlit's own websocket protocol, for the load test (issue 17):
over one connection it does what a browser tab does, so a locust user costs the server what a
person does, cookies and proxy stickiness included. Plain sockets (websocket-client, requests):
it runs under locust's gevent as it is.

    session = StreamlitSession("http://127.0.0.1:8501", {"handoff_session": token})
    session.open("leads")                                   # seconds from request to idle
    session.submit_form({"Touch": "Call", "Note": "..."}, "Log it")
    session.texts(), session.find_widget("Log out", "button"), session.idle(10)

What it speaks (Streamlit 1.67: streamlit/web/server/starlette/starlette_websocket.py,
runtime/app_session.py, runtime/pages_manager.py and the frontend's bundle,
static/static/js/index.*.js):

- HTTP first, as a page load does: GET `/` (a proxy sets its sticky cookie there), then
  `/_stcore/health` (it sets the `_streamlit_xsrf` cookie) and `/_stcore/host-config`; every
  cookie the server or proxy sets is kept with the ones given.
- The websocket `/_stcore/stream` with those cookies in the upgrade's Cookie header
  (`st.context.cookies` is read from it) and the frontend's subprotocols: "streamlit", then the
  XSRF cookie's value (or "PLACEHOLDER_AUTH_TOKEN"); no third entry (a session id to resume),
  so the server starts a new session.
- BackMsg `rerun_script` (a ClientState) for every action. The session's first `open` is the
  page load: page_name is the URL path and page_script_hash is empty (the server finds the page
  by its path). Later opens navigate as the sidebar and st.page_link do, by the page's script
  hash from the app's navigation message. A click or a form submit sends the current page's
  hash (from the last new_session), the query string (as page_info_changed left it), the widget
  states and, for a widget inside a fragment, the fragment id. Every rerun carries the context
  info (timezone, its offset in minutes as JavaScript's getTimezoneOffset gives it, locale, the
  page's URL, not embedded, light) and no cached message hashes, so the server sends every
  message whole, never a `ref_hash` to resolve from a cache.
- Widget values as WidgetStates.proto has them: a button or a form's submit button is a
  `trigger_value`, a radio or selectbox the option's label as shown (`string_value`: this
  version serializes the formatted option, not its index), text a `string_value`, a checkbox a
  `bool_value`, a number a `double_value`, a multiselect a `string_array_value`. As the
  frontend's WidgetStateManager does, a value the user set is sent again on every later rerun
  while its widget is on the page, and a submitted form sends every field it has (the values
  shown for the ones not given); a widget never touched is left to the server's session state,
  which keeps its value (the frontend would send that same value).
- The cookie manager component (streamlit-authenticator's extra-streamlit-components
  CookieManager): in a browser its iframe reports `getAll` (the page's cookies) once mounted,
  which reruns the app; the client answers it the same way, once per component instance, so a
  page load costs the runs a browser's does. Its `set` and `delete` write the client's cookies,
  as the iframe writes document.cookie (a login through the form leaves the re-login cookie).
- The fragments' run_every timers (auto_rerun, stop_auto_rerun; the page change drops them, as
  the frontend does): `idle(seconds)` spends time on the page as an open tab, sending each
  fragment's auto rerun when due (Handoff's live pages, HANDOFF_LIVE_SECONDS).

An action waits until the session is idle: the script_finished of the last run of the chain it
started (a run that ends in st.rerun or st.switch_page finishes FINISHED_EARLY_FOR_RERUN and
the next one follows; the component's answer starts one more), then a quiet window in which no
other run starts. Every wait is bounded by the action's timeout, a chain by MAX_CHAINED_RUNS.
The action returns the wall time from sending to that last script_finished; an exception
element or an st.error box in any run of the chain, a compile error or a page not found raises
PageError (`seen_alerts` keeps every run's alert boxes, `alerts` the final page's). The client
keeps the element tree of the last full run (a full run's deltas replace the page, as the
frontend drops the elements a finished run did not send again; a fragment run merges into it);
it runs no other component.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
import websocket
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Markdown_pb2 import Markdown
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.util import calc_hash

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
XSRF_COOKIE = "_streamlit_xsrf"
NO_XSRF_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the frontend sends without the cookie
PAGE_LOAD_PATHS = ("/", "/_stcore/health", "/_stcore/host-config")
DEFAULT_TIMEOUT = 60.0  # seconds an action may take, from sending to idle
QUIET_SECONDS = 0.25  # no run may start within this after the chain's last script_finished
MAX_CHAINED_RUNS = 12  # runs one action may set off (st.rerun, switch_page, the component)
NO_RUN_SECONDS = 2.0  # a fragment's auto rerun that starts no run by then started none
ROOT_CONTAINERS = (0, 1, 2, 3)  # main, sidebar, event, bottom: the order texts are read in
COOKIE_COMPONENT = "cookie_manager"  # extra_streamlit_components.CookieManager's name ends so
_FINISHED = ForwardMsg.ScriptFinishedStatus
_RUN_ENDS = frozenset({_FINISHED.FINISHED_SUCCESSFULLY, _FINISHED.FINISHED_WITH_COMPILE_ERROR,
                       _FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY})
_TEXT_ELEMENTS = ("markdown", "heading", "alert", "text")
_STRING_WIDGETS = ("text_input", "text_area")
_CHOICE_WIDGETS = ("radio", "selectbox")


class PageError(Exception):
    """A run showed an exception or an st.error box (or the page did not exist); `errors` holds
    their texts, `elapsed` the action's seconds, for the failure locust reports."""

    def __init__(self, action: str, errors: list[str], elapsed: float):
        super().__init__(f"{action}: " + " | ".join(errors))
        self.action, self.errors, self.elapsed = action, errors, elapsed


class SessionClosed(ConnectionError):
    """The server or proxy closed the connection or refused it (a replica went away): open a new
    StreamlitSession with this one's cookies."""


class ProtocolTimeout(TimeoutError):
    """An action did not reach an idle session within its timeout."""


class ProtocolError(RuntimeError):
    """The server sent what this client does not handle, or kept rerunning."""


@dataclass(frozen=True)
class Widget:
    """A widget on the page, as its element proto describes it."""

    type: str  # the Element oneof: "button", "radio", "selectbox", "text_area", ...
    id: str
    label: str
    options: tuple[str, ...]
    form_id: str
    fragment_id: str
    proto: Any = field(repr=False, compare=False)

    @property
    def is_form_submitter(self) -> bool:
        return self.type == "button" and self.proto.is_form_submitter


@dataclass
class _Node:
    """One place in the element tree: a block (with children by index) or an element."""

    block: Any = None
    element: Any = None
    fragment_id: str = ""
    children: dict[int, _Node] = field(default_factory=dict)

    def walk(self) -> Iterator[_Node]:
        """This node and its descendants, in the order the page shows them."""
        yield self
        for index in sorted(self.children):
            yield from self.children[index].walk()


def _new_root() -> _Node:
    return _Node(children={index: _Node() for index in ROOT_CONTAINERS})


class StreamlitSession:
    """One browser tab's session of a Streamlit app, over its websocket.

    `cookies` are the browser's cookies for the app (the re-login cookie); every cookie the
    server or proxy sets on the page load is kept with them, and `cookies()` gives them all back
    for a new session after a reconnect. `timeout` bounds each action, from sending to idle.
    """

    def __init__(self, base_url: str, cookies: Mapping[str, str] | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, timezone: str = "UTC",
                 locale: str = "en-US", quiet: float = QUIET_SECONDS):
        self.base_url = base_url.rstrip("/")
        self.timeout, self.timezone, self.locale, self.quiet = timeout, timezone, locale, quiet
        self.received_bytes = 0  # by the last action
        self.runs = 0  # script runs the last action set off
        self._cookies = dict(cookies or {})  # one origin's cookies, as the browser sends them
        self._http_only: set[str] = set()  # the ones page scripts cannot read (document.cookie)
        self._tree = _new_root()
        self._forms: dict[str, Any] = {}  # form id -> Block.Form of the current page
        self._pending, self._pending_forms = self._tree, self._forms  # the running run's
        self._states: dict[str, WidgetState] = {}  # values the user set, by widget id
        self._component_outputs: dict[str, str] = {}  # component id -> last output (JSON)
        self._page_hash = ""
        self._pages: list[Any] = []  # the navigation's AppPage protos, once the app has run
        self._url_path = ""
        self._query = ""
        self._errors: list[str] = []  # what any run of the last action showed that fails it
        self._seen_alerts: list[tuple[int, str]] = []  # (Alert.Format, body), any run of it
        self._run_id: str | None = None  # the run in progress, None when none is
        self._runs_seen = 0  # runs started on this session
        self._finished_at = 0.0  # when the last run ended
        self._timers: dict[str, list[float]] = {}  # fragment id -> [interval, next due]
        self._ws = self._connect()

    # --- what the page shows ---------------------------------------------------------------

    def texts(self) -> list[str]:
        """The texts the page shows, in order: markdown and captions, headings, alerts, plain
        text and exceptions ("Type: message")."""
        found = []
        for node in self._elements():
            kind = node.element.WhichOneof("type")
            if kind in _TEXT_ELEMENTS:
                found.append(getattr(node.element, kind).body)
            elif kind == "exception":
                found.append(_exception_text(node.element.exception))
        return found

    def captions(self) -> list[str]:
        """The st.caption texts of the page."""
        return [node.element.markdown.body for node in self._elements()
                if node.element.WhichOneof("type") == "markdown"
                and node.element.markdown.element_type == Markdown.Type.CAPTION]

    def alerts(self, kind: str | None = None) -> list[str]:
        """The bodies of the page's alert boxes (`kind`: "error", "warning", "info", "success";
        every alert when None)."""
        wanted = None if kind is None else Alert.Format.Value(kind.upper())
        return [node.element.alert.body for node in self._elements()
                if node.element.WhichOneof("type") == "alert"
                and wanted in (None, node.element.alert.format)]

    def seen_alerts(self, kind: str | None = None) -> list[str]:
        """The alert boxes any run of the last action showed, even one a later run of its chain
        replaced (a success box the app's own rerun took away again)."""
        wanted = None if kind is None else Alert.Format.Value(kind.upper())
        return [body for shown, body in self._seen_alerts if wanted in (None, shown)]

    def errors(self) -> list[str]:
        """What made the last action a PageError: the exception elements (not warnings) and
        st.error boxes any of its runs showed, a compile error, a page not found."""
        return list(dict.fromkeys(self._errors))

    def widgets(self) -> list[Widget]:
        """The widgets on the page, in order (popovers' and expanders' contents included)."""
        found = []
        for node in self._elements():
            kind = node.element.WhichOneof("type")
            proto = getattr(node.element, kind)
            widget_id = getattr(proto, "id", "")
            if not isinstance(widget_id, str) or not widget_id:
                continue
            label = getattr(proto, "label", "") or getattr(proto, "component_name", "")
            options = tuple(proto.options) if hasattr(proto, "options") else ()
            found.append(Widget(kind, widget_id, label, options, getattr(proto, "form_id", ""),
                                node.fragment_id, proto))
        return found

    def find_widget(self, label: str, type: str | None = None, *,
                    form_id: str | None = None) -> Widget:
        """The first widget with this label (of this type, in this form); LookupError naming
        what the page has instead."""
        for widget in self.widgets():
            if (widget.label == label and type in (None, widget.type)
                    and form_id in (None, widget.form_id)):
                return widget
        shown = sorted({f"{w.type} {w.label!r}" for w in self.widgets()
                        if type in (None, w.type)})
        where = f" in form {form_id!r}" if form_id else ""
        raise LookupError(f"no {type or 'widget'} labelled {label!r}{where} on {self.url()}; "
                          f"the page has: {', '.join(shown) or 'none'}")

    def url(self) -> str:
        """The address the browser would show for the current page."""
        return f"{self.base_url}/{self._url_path}" + (f"?{self._query}" if self._query else "")

    def cookies(self) -> dict[str, str]:
        """Every cookie this session holds (the re-login cookie, the proxy's sticky one, ...)."""
        return dict(self._cookies)

    # --- what the user does ------------------------------------------------------------------

    def open(self, url_path: str, query: str = "") -> float:
        """Open the page at /<url_path>?<query>; the seconds from sending to idle.

        The session's first open is the browser's page load: the page is asked for by its URL
        path (page_name). Later ones navigate as the sidebar and st.page_link do: by the page's
        script hash from the app's navigation, with the query string; a path the navigation
        does not hold is asked for by name again (the server then says it is not found)."""
        url_path, query = url_path.strip("/"), query.lstrip("?")
        page_hash = self._page_hash_of(url_path)
        self._url_path, self._query = url_path, query
        self._timers.clear()  # the frontend drops the fragments' timers on a page change
        if page_hash is None:
            state = self._client_state(page_name=url_path)
        else:
            state = self._client_state(page_hash=page_hash)
        return self._act(f"open /{url_path}" + (f"?{query}" if query else ""), state)

    def click(self, label: str) -> float:
        """Press the first button with this label (not a form's submit button: submit_form)."""
        buttons = [w for w in self.widgets() if w.type == "button" and w.label == label]
        button = next((w for w in buttons if not w.is_form_submitter), None)
        if button is None and buttons:
            raise LookupError(f"{label!r} on {self.url()} is a form's submit button: "
                              "use submit_form")
        if button is None:
            self.find_widget(label, "button")  # raises, naming the buttons shown
        state = self._client_state([_trigger(button.id)], fragment_id=button.fragment_id)
        return self._act(f"click {label!r}", state)

    def submit_form(self, values: Mapping[str, Any], submit_label: str, *,
                    form_id: str | None = None) -> float:
        """Fill in the form whose submit button has this label (the first on the page, or the
        one with `form_id`) with `values` by widget label, and submit it: the form's widget
        states with the submit button's trigger, as the frontend sends them."""
        submit = next((w for w in self.widgets() if w.is_form_submitter
                       and w.label == submit_label and form_id in (None, w.form_id)), None)
        if submit is None:
            forms = sorted({f"{w.label!r} ({w.form_id})" for w in self.widgets()
                            if w.is_form_submitter})
            raise LookupError(f"no form with a submit button {submit_label!r} on {self.url()}"
                              f"; the page's forms submit with: {', '.join(forms) or 'none'}")
        fields = [w for w in self.widgets() if w.form_id == submit.form_id
                  and not w.is_form_submitter]
        unknown = set(values) - {w.label for w in fields}
        if unknown:
            raise LookupError(f"form {submit.form_id!r} on {self.url()} has no "
                              f"{', '.join(map(repr, sorted(unknown)))}; it has "
                              f"{', '.join(repr(w.label) for w in fields)}")
        for widget in fields:
            if widget.label in values:
                self._states[widget.id] = _state_for(widget, values[widget.label])
            elif widget.id not in self._states and (shown := _shown_state(widget)) is not None:
                self._states[widget.id] = shown  # the frontend holds every field's value
        state = self._client_state([_trigger(submit.id)], fragment_id=submit.fragment_id)
        form = self._forms.get(submit.form_id)
        if form is not None and form.clear_on_submit:  # the frontend resets the fields
            for widget in fields:
                self._states.pop(widget.id, None)
        return self._act(f"submit {submit_label!r}", state)

    def idle(self, seconds: float) -> list[float]:
        """Stay on the page for `seconds` as an open tab does: apply what the server sends,
        answer its pings, and rerun the page's fragments on their run_every timers (auto_rerun
        messages; Handoff's live pages with HANDOFF_LIVE_SECONDS), each to idle. The seconds
        each of those reruns took; PageError ends the wait early."""
        end = time.monotonic() + seconds
        took = []
        while (now := time.monotonic()) < end:
            fragment, due = min(((fragment, timer[1]) for fragment, timer in self._timers.items()),
                                key=lambda timer: timer[1], default=(None, end))
            if due > now:
                if (message := self._recv(min(due, end) - now)) is not None:
                    self._on_message(message)
                continue
            self._timers[fragment][1] = now + self._timers[fragment][0]
            state = self._client_state(fragment_id=fragment, auto_rerun=True)
            if (elapsed := self._act("auto rerun", state, expect_run=False)) is not None:
                took.append(elapsed)
        return took

    def close(self) -> None:
        """Close the websocket (the server ends the session); a dead one is just dropped."""
        with suppress(websocket.WebSocketException, OSError):
            self._ws.close()

    def __enter__(self) -> StreamlitSession:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- the protocol ------------------------------------------------------------------------

    def _connect(self) -> websocket.WebSocket:
        """Load the page over HTTP (keeping the cookies set there), then open the websocket."""
        for path in PAGE_LOAD_PATHS:
            try:
                response = requests.get(self.base_url + path, cookies=self._cookies,
                                        timeout=self.timeout)
            except requests.RequestException as error:
                raise SessionClosed(f"GET {self.base_url}{path}: {error}") from error
            for answer in (*response.history, response):
                for cookie in answer.cookies:
                    self._cookies[cookie.name] = cookie.value
                    if cookie.has_nonstandard_attr("HttpOnly"):
                        self._http_only.add(cookie.name)
            if response.status_code >= 500:  # no replica behind the proxy (yet)
                raise SessionClosed(f"GET {self.base_url}{path}: {response.status_code}")
            if response.status_code >= 400:
                raise ProtocolError(f"GET {self.base_url}{path}: {response.status_code}")
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        stream = f"{scheme}://{parts.netloc}{parts.path}{STREAM_PATH}"
        cookie = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        xsrf = self._cookies.get(XSRF_COOKIE) or NO_XSRF_TOKEN
        try:
            return websocket.create_connection(
                stream, timeout=self.timeout, subprotocols=[SUBPROTOCOL, xsrf],
                header=[f"Cookie: {cookie}"] if cookie else [])
        except (websocket.WebSocketException, OSError) as error:
            raise SessionClosed(f"opening {stream}: {error}") from error

    def _client_state(self, extra: list[WidgetState] = (), *, page_name: str = "",
                      page_hash: str | None = None, fragment_id: str = "",
                      auto_rerun: bool = False) -> ClientState:
        """A rerun's ClientState as the frontend's sendRerunBackMsg builds it: for an address
        loaded (page_name), a page navigated to (page_hash), or the current page."""
        state = ClientState(query_string=self._query, fragment_id=fragment_id,
                            is_auto_rerun=auto_rerun)
        if page_name:  # an address loaded: the server finds the page by its URL path
            state.page_name = page_name
        else:
            state.page_script_hash = self._page_hash if page_hash is None else page_hash
            shown = {widget.id for widget in self.widgets()}
            state.widget_states.widgets.extend(
                value for widget_id, value in self._states.items() if widget_id in shown)
        state.widget_states.widgets.extend(extra)
        offset = datetime.now(ZoneInfo(self.timezone)).utcoffset()
        info = state.context_info
        info.timezone, info.locale, info.url = self.timezone, self.locale, self.url()
        info.timezone_offset = -int(offset.total_seconds() // 60)  # JS: UTC minus local
        info.is_embedded, info.color_scheme = False, "light"
        return state

    def _act(self, action: str, state: ClientState, *, expect_run: bool = True) -> float | None:
        """Send a rerun and wait until the session is idle; the seconds it took (None when no
        run started and none was sure to: a fragment the server no longer has)."""
        self._drain()
        self.received_bytes, self.runs = 0, 0
        self._errors, self._seen_alerts = [], []
        started = time.monotonic()
        self._send(state)
        finished = self._wait_until_idle(action, started, expect_run)
        if finished is None:
            return None
        elapsed = finished - started
        if errors := self.errors():
            raise PageError(action, errors, elapsed)
        return elapsed

    def _send(self, state: ClientState) -> None:
        message = BackMsg()
        message.rerun_script.CopyFrom(state)
        try:
            self._ws.send_binary(message.SerializeToString())
        except (websocket.WebSocketException, OSError) as error:
            raise SessionClosed(f"sending to {self.url()}: {error}") from error

    def _wait_until_idle(self, action: str, sent: float, expect_run: bool) -> float | None:
        """Read until the chain of runs the rerun started has finished and no run starts within
        the quiet window; the instant its last run finished (None when `expect_run` is False
        and no run started within NO_RUN_SECONDS)."""
        deadline, seen_before = sent + self.timeout, self._runs_seen
        awaited = seen_before  # a run must start after this many: the last request's
        while True:
            now = time.monotonic()
            self.runs = self._runs_seen - seen_before
            if self.runs > MAX_CHAINED_RUNS:
                raise ProtocolError(f"{action}: the app kept rerunning ({self.runs} runs)")
            started = self._runs_seen > awaited
            if started and self._run_id is None:  # the chain is done: does it stay quiet?
                wait = self._finished_at + self.quiet - now
                if wait <= 0:
                    if (answer := self._component_answer()) is None:
                        return self._finished_at
                    self._send(answer)  # the iframe reports: one more run, as in a browser
                    awaited, expect_run = self._runs_seen, True
                    continue
            elif now >= deadline:
                waiting = "its runs to finish" if started else "a run to start"
                raise ProtocolTimeout(f"{action}: no idle session within {self.timeout:g} s "
                                      f"(waiting for {waiting}, {self.runs} runs so far)")
            elif not started and not expect_run:
                if now >= sent + NO_RUN_SECONDS:
                    return None
                wait = min(deadline, sent + NO_RUN_SECONDS) - now
            else:
                wait = deadline - now
            if (message := self._recv(max(wait, 0.001))) is not None:
                self._on_message(message)

    def _on_message(self, message: ForwardMsg) -> None:
        """Apply one ForwardMsg, keeping track of the runs (whether or not an action waits)."""
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._runs_seen += 1
            self._run_id = message.metadata.run.script_run_id
            self._start_run(message)
        elif kind == "script_finished":
            ended = message.metadata.run.script_run_id
            if (self._run_id is not None and ended in ("", self._run_id)
                    and message.script_finished in _RUN_ENDS):
                self._run_id, self._finished_at = None, time.monotonic()
                self._end_run(message)
        else:
            self._handle(message)

    def _start_run(self, message: ForwardMsg) -> None:
        self._page_hash = message.new_session.page_script_hash
        if not message.metadata.run.fragment_ids:  # a full run draws the page anew
            self._pending, self._pending_forms = _new_root(), {}
        else:
            self._pending, self._pending_forms = self._tree, self._forms

    def _end_run(self, message: ForwardMsg) -> None:
        if message.script_finished != _FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self._tree, self._forms = self._pending, self._pending_forms

    def _handle(self, message: ForwardMsg) -> None:
        """Apply one message that is not a run's start or end."""
        kind = message.WhichOneof("type")
        if kind == "delta":
            self._apply_delta(message)
        elif kind == "page_info_changed":
            self._query = message.page_info_changed.query_string
        elif kind == "navigation":
            self._pages = list(message.navigation.app_pages)
            shown = next((page for page in self._pages
                          if page.page_script_hash == message.navigation.page_script_hash), None)
            if shown is not None:
                self._url_path = shown.url_pathname  # the default page's is ""
        elif kind == "auto_rerun" and message.auto_rerun.fragment_id:
            fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            if self._timers.get(fragment, [None])[0] != interval:  # a new timer, or a new pace
                self._timers[fragment] = [interval, time.monotonic() + interval]
        elif kind == "stop_auto_rerun":
            for fragment in message.stop_auto_rerun.fragment_ids:
                self._timers.pop(fragment, None)
        elif kind == "page_not_found":
            self._errors.append(f"page not found: {message.page_not_found.page_name!r}")
        elif kind == "session_event" and message.session_event.HasField(
                "script_compilation_exception"):
            self._errors.append(_exception_text(message.session_event.script_compilation_exception))
        elif kind == "ref_hash":
            raise ProtocolError("the server sent a cached message's hash, which this client "
                                "never reports holding")

    def _apply_delta(self, message: ForwardMsg) -> None:
        """Place a new element or block at its delta path in the run's tree (transient
        elements, spinners, are not kept)."""
        delta = message.delta
        kind = delta.WhichOneof("type")
        path = list(message.metadata.delta_path)
        if kind not in ("new_element", "add_block") or not path:
            return
        parent = self._pending
        for index in path[:-1]:
            parent = parent.children.setdefault(index, _Node())
        if kind == "new_element":
            element = delta.new_element
            parent.children[path[-1]] = _Node(element=element, fragment_id=delta.fragment_id)
            shown = element.WhichOneof("type")
            if shown == "exception" and not element.exception.is_warning:
                self._errors.append(_exception_text(element.exception))
            elif shown == "alert":
                self._seen_alerts.append((element.alert.format, element.alert.body))
                if element.alert.format == Alert.Format.ERROR:
                    self._errors.append(element.alert.body)
            return
        block = delta.add_block
        existing = parent.children.get(path[-1])
        keep = (existing is not None and existing.element is None
                and (existing.block is None
                     or existing.block.WhichOneof("type") == block.WhichOneof("type")))
        parent.children[path[-1]] = _Node(block=block, fragment_id=delta.fragment_id,
                                          children=existing.children if keep else {})
        if block.WhichOneof("type") == "form":
            self._pending_forms[block.form.form_id] = block.form

    def _component_answer(self) -> ClientState | None:
        """The rerun the cookie manager's iframe sends once it has mounted (its output differs
        from the last it reported), or None."""
        for widget in self.widgets():
            if widget.type != "component_instance" or not widget.label.endswith(
                    COOKIE_COMPONENT):
                continue
            args = json.loads(widget.proto.json_args or "{}")
            output = self._run_cookie_method(args)
            reported = json.dumps(output, sort_keys=True)
            if not output or self._component_outputs.get(widget.id) == reported:
                continue
            self._component_outputs[widget.id] = reported
            self._states[widget.id] = WidgetState(id=widget.id, json_value=json.dumps(output))
            return self._client_state(fragment_id=widget.fragment_id)
        return None

    def _run_cookie_method(self, args: Mapping[str, Any]) -> Any:
        """What CookieManager.jsx computes for its arguments, on this client's cookie jar."""
        method, name = args.get("method"), args.get("cookie")
        readable = {key: value for key, value in self._cookies.items()
                    if key not in self._http_only}
        if method == "getAll":
            return readable
        if method == "get":
            return readable.get(name)
        if method == "set":
            self._cookies[name] = str(args.get("value"))
            return True
        if method == "delete":
            self._cookies.pop(name, None)
            return True
        return None

    def _page_hash_of(self, url_path: str) -> str | None:
        """The script hash of the navigation's page at this URL path, or None. The default
        page's URL path is "" in the navigation, so it is matched by its hash, which Streamlit
        computes from the path the app gave it (streamlit.util.calc_hash, as st.Page does)."""
        for page in self._pages:
            if (page.url_pathname == url_path if not page.is_default
                    else page.page_script_hash == calc_hash(url_path) or not url_path):
                return page.page_script_hash
        return None

    def _drain(self) -> None:
        """Apply what arrived between actions (and answer the server's pings)."""
        while (message := self._recv(0.001)) is not None:
            self._on_message(message)

    def _recv(self, timeout: float) -> ForwardMsg | None:
        """The next ForwardMsg, or None when none came within `timeout` seconds."""
        try:
            self._ws.settimeout(timeout)
            data = self._ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketException, OSError) as error:
            raise SessionClosed(f"reading from {self.url()}: {error}") from error
        if not isinstance(data, bytes) or not data:
            raise SessionClosed(f"the server at {self.url()} closed the connection")
        self.received_bytes += len(data)
        message = ForwardMsg()
        message.ParseFromString(data)
        return message

    def _elements(self) -> Iterator[_Node]:
        return (node for node in self._tree.walk() if node.element is not None)


def _trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def _state_for(widget: Widget, value: Any) -> WidgetState:
    """A widget's value as the frontend sends it (WidgetStates.proto)."""
    state = WidgetState(id=widget.id)
    if widget.type in _STRING_WIDGETS:
        state.string_value = str(value)
    elif widget.type in _CHOICE_WIDGETS:
        if value is not None:  # None: nothing chosen (a widget state without a value)
            _check_options(widget, [value])
            state.string_value = str(value)
    elif widget.type == "multiselect":
        _check_options(widget, value)
        state.string_array_value.data.extend(str(item) for item in value)
    elif widget.type == "checkbox":
        state.bool_value = bool(value)
    elif widget.type == "number_input":
        state.double_value = float(value)
    else:
        raise TypeError(f"{widget.type} {widget.label!r}: this client does not set its value")
    return state


def _check_options(widget: Widget, values: Any) -> None:
    if getattr(widget.proto, "accept_new_options", False):
        return
    missing = [value for value in values if value not in widget.options]
    if missing:
        raise ValueError(f"{widget.type} {widget.label!r} has no option "
                         f"{', '.join(map(repr, missing))}; its options are "
                         f"{', '.join(map(repr, widget.options))}")


def _shown_state(widget: Widget) -> WidgetState | None:
    """The state the frontend holds for a form field the user left as shown, or None for a
    widget whose value this client does not read."""
    proto = widget.proto
    if widget.type in _STRING_WIDGETS:
        shown = proto.value if proto.HasField("value") else (
            proto.default if proto.HasField("default") else None)
        return None if shown is None else _state_for(widget, shown)
    if widget.type in _CHOICE_WIDGETS:
        if proto.HasField("raw_value"):
            return _state_for(widget, proto.raw_value)
        index = proto.default if proto.HasField("default") else None
        return _state_for(widget, None if index is None else widget.options[index])
    if widget.type == "checkbox":
        return _state_for(widget, proto.value if proto.set_value else proto.default)
    return None


def _exception_text(exception: Any) -> str:
    return f"{exception.type}: {exception.message}" if exception.type else exception.message
