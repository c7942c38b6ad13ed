"""Pause the cyclic garbage collector around bulk work.

Reading a period builds millions of short-lived objects in a few bursts; each burst triggers
full collections that walk every live object (a million-lead year: about a third of the CLI
report's time). Nothing in such a read makes reference cycles worth collecting mid-way, so
`paused()` switches the collector off for its duration (nesting and threads share one count)
and back on after; reference counting frees memory as usual meanwhile.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """The collector off while any holder is inside, restored when the last one leaves."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
