"""One structured log line per API request, worker job and page run: JSON on stderr.

Every line is one JSON object, written through Python logging, so an operator's collector reads
the replicas, the API processes and the workers alike:

    {"ts": "2026-12-04T09:15:02.113Z", "level": "INFO", "event": "request", "method": "GET",
     "path": "/api/v1/ready", "status": 200, "duration_ms": 4.2, "process": "api-1"}

`timed(event, ...)` times a block and emits its line as the block ends, with `duration_ms`
even when the block raises (the outcome is then "error" and `error` names the exception, unless
the block described the failure itself); the exception propagates. ui.page_log does the same
for a Streamlit script run. `process` is HANDOFF_REPLICA when set, else host:pid.

Only a process's entry point calls `configure()` (`api serve`, `worker`, app.py): it installs
the JSON handler on the root logger at HANDOFF_LOG_LEVEL (default INFO; WARNING turns the
per-request lines off). Library use and tests stay quiet unless they capture the records
(the loggers are `handoff.request`, `handoff.job` and `handoff.page`).
"""

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LEVEL_ENV = "HANDOFF_LOG_LEVEL"
REPLICA_ENV = "HANDOFF_REPLICA"
DEFAULT_LEVEL = "INFO"
ERROR_TEXT_MAX = 300
EVENT_ATTRIBUTE = "handoff_line"  # the record attribute that carries an event line's fields
# Quiet below WARNING once configured: the access logs our lines replace (uvicorn's, and
# tornado's under Streamlit, which would print query strings), and alembic's two lines on every
# look at the schema (a health check).
QUIET_LOGGERS = ("uvicorn.access", "tornado.access", "alembic.runtime.migration")

logging.getLogger("handoff").addHandler(logging.NullHandler())  # no stray lastResort lines


def process_name() -> str:
    """The name of this process in the log: HANDOFF_REPLICA, else host:pid."""
    return os.environ.get(REPLICA_ENV) or f"{socket.gethostname()}:{os.getpid()}"


# --- timing ---------------------------------------------------------------------------------


@dataclass
class Line:
    """The line a timed block will emit: its fields, its level, and the exception whose
    traceback it carries (None: no traceback)."""

    fields: dict[str, Any]
    level: int = logging.INFO
    traceback: BaseException | None = None

    def set(self, **fields: Any) -> None:
        """Add fields to the line (or replace them)."""
        self.fields.update(fields)

    def failed(self, exception: BaseException, /, *, level: int = logging.ERROR,
               traceback: bool = True, **fields: Any) -> None:
        """Describe a failure: the outcome and any other fields, `error` naming the exception
        unless given, at `level`, with the traceback or not."""
        self.fields.update(fields)
        self.fields.setdefault("error", describe(exception))
        self.level = max(self.level, level)
        self.traceback = exception if traceback else None


def describe(error: BaseException) -> str:
    """An exception in a few words: its type, and the first line of its message."""
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    return text[:ERROR_TEXT_MAX]


@contextmanager
def timed(event: str, outcome: str = "status", **fields: Any) -> Iterator[Line]:
    """Time the block and emit one `event` line with `fields` and `duration_ms` as it ends. The
    block may set the line's fields through the Line it is given; its outcome field (`outcome`)
    is "ok" when it says nothing, and "error" when it raises without describing the failure
    (`Line.failed`). The exception always propagates."""
    line = Line(dict(fields))
    started = time.perf_counter()
    try:
        yield line
    except BaseException as error:
        if outcome not in line.fields:
            line.failed(error, **{outcome: "error"})
        raise
    else:
        line.fields.setdefault(outcome, "ok")
    finally:
        emit(event, line, (time.perf_counter() - started) * 1000)


def emit(event: str, line: Line, duration_ms: float) -> None:
    """Log one event line (never raises: logging reports its own failures)."""
    fields = {"event": event, **line.fields, "duration_ms": round(duration_ms, 1)}
    logging.getLogger(f"handoff.{event}").log(
        line.level, "%s %s", event, " ".join(f"{key}={value}" for key, value in fields.items()
                                             if key != "event"),
        exc_info=line.traceback, extra={EVENT_ATTRIBUTE: fields})


# --- output ---------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: an event line's fields, or any other record's level,
    logger and message; a traceback, when there is one, as a field."""

    def format(self, record: logging.LogRecord) -> str:
        head = {"ts": _iso(record.created), "level": record.levelname}
        fields = getattr(record, EVENT_ATTRIBUTE, None)
        if fields is not None:
            line = {**head, **fields}
        else:
            line = {**head, "logger": record.name, "message": record.getMessage()}
        line["process"] = process_name()
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _iso(epoch: float) -> str:
    """An instant as ISO 8601 UTC with milliseconds ("2026-12-04T09:15:02.113Z")."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class StderrHandler(logging.StreamHandler):
    """A handler writing to sys.stderr as it is at each line (not as it was when configured:
    a test's capture, Streamlit's, or the process's own)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass  # always sys.stderr


@dataclass
class _State:
    handler: StderrHandler | None = None
    warned: set[str] = field(default_factory=set)


_state = _State()


def configure() -> None:
    """Send this process's log records to stderr as JSON lines at HANDOFF_LOG_LEVEL (for an
    entry point; calling it again only applies the level the environment says now)."""
    root = logging.getLogger()
    if _state.handler is None or _state.handler not in root.handlers:
        _state.handler = StderrHandler()
        _state.handler.setFormatter(JsonFormatter())
        root.addHandler(_state.handler)
    level = _level()
    root.setLevel(level)
    _state.handler.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def _level() -> int:
    """HANDOFF_LOG_LEVEL as a logging level (a name such as INFO or WARNING, or a number);
    an unknown one is INFO, said once."""
    value = (os.environ.get(LEVEL_ENV) or DEFAULT_LEVEL).strip().upper()
    if value.isdigit():
        return int(value)
    level = logging.getLevelNamesMapping().get(value)
    if level is None:
        if value not in _state.warned:
            _state.warned.add(value)
            logging.getLogger("handoff").warning(
                "%s: '%s' is not a level (DEBUG, INFO, WARNING, ERROR); using INFO",
                LEVEL_ENV, value)
        return logging.INFO
    return level
