"""One "page" log line per run of the app's script (core.request_log), where `st.stop()`,
`st.rerun()` and `st.switch_page()` end a run by raising: those runs are "stop" and "rerun",
not errors."""

from collections.abc import Iterator
from contextlib import contextmanager

from core import request_log
from core.request_log import Line


def configure() -> None:
    """This serving process's JSON log lines (idempotent: every run calls it)."""
    request_log.configure()


@contextmanager
def page_run() -> Iterator[Line]:
    """Time one run of the Streamlit script as a "page" line (the body sets "page" and "user"
    once it knows them): "ok", "error", or "stop" / "rerun" when `st.stop()`, `st.rerun()` or
    `st.switch_page()` ends the run, which then goes on as Streamlit means it to."""
    from streamlit.runtime.scriptrunner import RerunException, StopException

    ended: BaseException | None = None
    with request_log.timed("page", page=None, user=None) as line:
        try:
            yield line
        except StopException as stop:
            line.set(status="stop")
            ended = stop
        except RerunException as rerun:
            line.set(status="rerun")
            ended = rerun
    if ended is not None:
        raise ended
