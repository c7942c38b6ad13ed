"""Run a service from a button and show its outcome after the rerun."""

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.agreement import InvalidAgreement
from core.errors import Busy, InvalidInput, NotFound
from core.permissions import PermissionDenied
from core.services.agreements import WorkflowError
from ui.services import call
from ui.text import literal

REFUSALS = (Busy, InvalidInput, InvalidAgreement, NotFound, PermissionDenied,
            WorkflowError)
FLASH_KEY = "flash"


def run_service(service: Callable[..., Any], success: str, **kwargs) -> Any | None:
    """Call `service(session=..., **kwargs)` in one unit of work; remember the outcome to show.

    Returns the service's result, or None when the domain refused (nothing was written).
    """
    try:
        result = call(service, **kwargs)
    except REFUSALS as error:
        st.session_state[FLASH_KEY] = ("error", str(error))
        return None
    st.session_state[FLASH_KEY] = ("success", success)
    return result


def flash(kind: str, message: str) -> None:
    """Remember a message to show once on the next run (kind: success, info, warning, error)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    """Show (once) the outcome of the last service run from this session."""
    if flash := st.session_state.pop(FLASH_KEY, None):
        kind, message = flash
        getattr(st, kind)(literal(message))  # messages quote what users typed
